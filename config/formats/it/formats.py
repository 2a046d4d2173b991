# Italian dates as Italian writes them: see config/formats/__init__.py. Input formats stay Django's.
DATE_FORMAT = "j F Y"  # 4 dicembre 2026
TIME_FORMAT = "H:i"  # 14:30
DATETIME_FORMAT = "j F Y, H:i"  # 4 dicembre 2026, 14:30
YEAR_MONTH_FORMAT = "F Y"  # dicembre 2026
MONTH_DAY_FORMAT = "j F"  # 4 dicembre
SHORT_DATE_FORMAT = "d/m/Y"  # 04/12/2026
SHORT_DATETIME_FORMAT = "d/m/Y H:i"  # 04/12/2026 14:30
