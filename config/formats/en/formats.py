# English as a European clinic writes it: see config/formats/__init__.py. Input formats stay Django's.
DATE_FORMAT = "j F Y"  # 14 December 2026
TIME_FORMAT = "H:i"  # 09:30
DATETIME_FORMAT = "j F Y, H:i"  # 14 December 2026, 09:30
YEAR_MONTH_FORMAT = "F Y"  # December 2026
MONTH_DAY_FORMAT = "j F"  # 14 December
SHORT_DATE_FORMAT = "j M Y"  # 14 Dec 2026
SHORT_DATETIME_FORMAT = "j M Y, H:i"  # 14 Dec 2026, 09:30
FIRST_DAY_OF_WEEK = 1  # Monday
