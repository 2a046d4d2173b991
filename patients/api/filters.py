import django_filters

from ..models import Gender, Language, Patient
from ..selectors import patients_search
from .pagination import CappedCountPagination


class PatientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", max_length=100, label="Name, MRN or birth date")
    mrn = django_filters.CharFilter(max_length=64)
    birth_date = django_filters.DateFilter()
    born_after = django_filters.DateFilter(field_name="birth_date", lookup_expr="gte")
    born_before = django_filters.DateFilter(field_name="birth_date", lookup_expr="lte")
    gender = django_filters.ChoiceFilter(choices=Gender.choices)
    preferred_language = django_filters.ChoiceFilter(choices=Language.choices)
    # A choice, not a BooleanFilter: "active=perhaps" must be a 400, not silently no filter.
    active = django_filters.TypedChoiceFilter(choices=[("true", "true"), ("false", "false")], coerce=lambda v: v == "true")

    class Meta:
        model = Patient
        fields = ["q", "mrn", "birth_date", "born_after", "born_before", "gender", "preferred_language", "active"]

    def filter_queryset(self, queryset):
        # The search last: over all patients it is a UNION (see `patients_search`), which takes no
        # further filter.
        for name, value in self.form.cleaned_data.items():
            if name != "q":
                queryset = self.filters[name].filter(queryset, value)
        return self.filters["q"].filter(queryset, self.form.cleaned_data.get("q"))

    def search(self, queryset, name, value):
        # The list counts at most this many rows and shows a page within them: no branch of the
        # search needs to read further.
        rows = CappedCountPagination().count_limit(self.request) + 1
        return patients_search(user=self.request.user, queryset=queryset, query=value, rows=rows)


def clinical_fact_filter(model, date_field: str) -> type[django_filters.FilterSet]:
    """A filter set per clinical fact: by code (when coded) and by date range."""
    attrs = {
        "since": django_filters.IsoDateTimeFilter(field_name=date_field, lookup_expr="gte"),
        "until": django_filters.IsoDateTimeFilter(field_name=date_field, lookup_expr="lt"),
    }
    if any(f.name == "code" for f in model._meta.fields):
        attrs["code"] = django_filters.CharFilter(max_length=64)
        attrs["code_system"] = django_filters.CharFilter(max_length=200)
    meta = type("Meta", (), {"model": model, "fields": list(attrs)})
    return type(f"{model.__name__}Filter", (django_filters.FilterSet,), {**attrs, "Meta": meta})
