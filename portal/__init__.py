"""The patient-facing site: server-rendered pages over the domain apps' services and selectors."""
