"""Realistic coded clinical content for demo patients (SNOMED CT, LOINC, RxNorm, CVX)."""

from patients.models import CodeSystem

CONDITIONS = [
    ("44054006", "Diabetes mellitus type 2"),
    ("38341003", "Hypertensive disorder"),
    ("84114007", "Heart failure"),
    ("195967001", "Asthma"),
    ("13645005", "Chronic obstructive lung disease"),
    ("55822004", "Hyperlipidemia"),
    ("162864005", "Body mass index 30+ - obesity"),
    ("35489007", "Depressive disorder"),
]
# Medications treating the condition above them, by SNOMED code.
MEDICATIONS = {
    "44054006": ("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", "500 mg once daily"),
    "38341003": ("314076", "Lisinopril 10 MG Oral Tablet", "10 mg once daily"),
    "84114007": ("200031", "Carvedilol 6.25 MG Oral Tablet", "6.25 mg twice daily"),
    "195967001": ("895994", "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler", "2 puffs twice daily"),
    "13645005": ("1998774", "Tiotropium 0.0025 MG/ACTUAT Inhalation Spray", "2 puffs once daily"),
    "55822004": ("259255", "Atorvastatin 80 MG Oral Tablet", "80 mg at night"),
}
ALLERGIES = [
    ("91936005", "Allergy to penicillin", "medication", "high"),
    ("300913006", "Shellfish allergy", "food", "low"),
    ("232350006", "House dust mite allergy", "environment", "low"),
]
PROCEDURES = [
    ("73761001", "Colonoscopy"),
    ("232717009", "Coronary artery bypass grafting"),
    ("80146002", "Appendectomy"),
    ("18286008", "Catheter ablation of tissue of heart"),
]
IMMUNIZATIONS = [
    ("140", "Influenza, seasonal, injectable, preservative free"),
    ("208", "SARS-COV-2 (COVID-19) vaccine, mRNA"),
    ("113", "Td (adult) preservative free"),
]
# code, display, unit, low, high, decimals
VITALS = [
    ("8867-4", "Heart rate", "/min", 55, 110, 0),
    ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", 89, 100, 0),
    ("29463-7", "Body weight", "kg", 48, 120, 1),
    ("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", 70, 240, 0),
]
BLOOD_PRESSURE = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
HBA1C = ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 5.0, 10.5, 1)

SNOMED = CodeSystem.SNOMED.value
LOINC = CodeSystem.LOINC.value
RXNORM = CodeSystem.RXNORM.value
CVX = CodeSystem.CVX.value
