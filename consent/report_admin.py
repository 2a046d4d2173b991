"""The audit report for administrators: reads and consent events over any period, as CSV too."""
