"""Date and time formats of the product's languages, over Django's (FORMAT_MODULE_PATH).

English: day before month and the 24-hour clock, as in a European clinic ("14 December 2026,
09:30", never "Dec. 14, 2026, 9:30 a.m." nor "12/14/2026", which reads as a different day here);
and no "a.m."/"p.m.", whose full stop doubles at the end of a sentence.
Italian: the day without its leading zero and no weekday in the long format, as Italian writes a
date ("4 dicembre 2026"); the month names themselves come in lower case from our catalogue.
French: Django's formats are already what French writes.
"""

from django.utils.translation import gettext_noop, pgettext_lazy

# Django's own Italian catalogue capitalizes the month names; ours (which comes first, LOCALE_PATHS)
# gives them as Italian writes them inside a date. Marked here so that they stay in the catalogue.
MONTHS = (
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
)
MONTHS_ALT = (
    pgettext_lazy("alt. month", "January"),
    pgettext_lazy("alt. month", "February"),
    pgettext_lazy("alt. month", "March"),
    pgettext_lazy("alt. month", "April"),
    pgettext_lazy("alt. month", "May"),
    pgettext_lazy("alt. month", "June"),
    pgettext_lazy("alt. month", "July"),
    pgettext_lazy("alt. month", "August"),
    pgettext_lazy("alt. month", "September"),
    pgettext_lazy("alt. month", "October"),
    pgettext_lazy("alt. month", "November"),
    pgettext_lazy("alt. month", "December"),
)
