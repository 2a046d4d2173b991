"""Pagination of the patient list: the total is counted only up to a cap.

An exact count of a million patients reads a million index entries on every page of the list (32 ms
of 45 ms), and of a common name prefix every match; nobody reads "37,980 patients" differently from
"more than 1,000". So the count stops after `COUNT_CAP` rows (or after the requested page, if that is
further): `count` is exact while `count_is_exact` is true; when it is false, more than `count` patients
match, and `next` says whether there is another page.
"""

from django.core.paginator import Page, Paginator
from django.utils.functional import cached_property
from rest_framework.response import Response

from core.pagination import SalusPagination

COUNT_CAP = 1000


class CappedCountPaginator(Paginator):
    def __init__(self, object_list, per_page, *, count_limit: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.count_limit = count_limit

    @cached_property
    def _counted(self) -> int:
        # SELECT COUNT(*) FROM (SELECT ... LIMIT count_limit + 1): stops at the first row past the cap.
        return self.object_list.order_by()[: self.count_limit + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.count_limit)

    @property
    def count_is_exact(self) -> bool:
        return self._counted <= self.count_limit

    def _get_page(self, *args, **kwargs):
        return CappedCountPage(*args, **kwargs)


class CappedCountPage(Page):
    def has_next(self) -> bool:
        return super().has_next() or not self.paginator.count_is_exact

    def next_page_number(self) -> int:
        # Past the cap the next page is beyond `num_pages`, which counts only the rows counted.
        return super().next_page_number() if super().has_next() else self.number + 1


class CappedCountPagination(SalusPagination):
    """`count` up to 1,000 (or up to the end of the requested page), with `count_is_exact`."""

    count_cap = COUNT_CAP
    # "?page=last" would be the last page within the cap, not the last page: not offered.
    last_page_strings = ()

    def count_limit(self, request) -> int:
        """How many rows this request counts (one more tells whether there are more): the cap, or the
        end of the requested page if that is further. A search reads no more rows than this + 1."""
        try:
            # Bounded: past it the page is beyond any table and answers 404, but LIMIT must stay a bigint.
            end_of_page = min(int(request.query_params.get(self.page_query_param) or 1), 2**31) * self.get_page_size(request)
        except (TypeError, ValueError):
            end_of_page = 0  # not a page number: the paginator refuses it (404) before counting
        return max(self.count_cap, end_of_page)

    def paginate_queryset(self, queryset, request, view=None):
        self._count_limit = self.count_limit(request)
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, queryset, page_size):
        return CappedCountPaginator(queryset, page_size, count_limit=self._count_limit)

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "count_is_exact": self.page.paginator.count_is_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        properties = response["properties"]
        properties["count"] = {
            **properties["count"],
            "description": (
                f"Number of matching patients, counted up to {self.count_cap:,} (or to the end of the requested "
                "page, if further). Exact when `count_is_exact` is true; otherwise more than `count` patients match."
            ),
        }
        properties = {
            "count": properties["count"],
            "count_is_exact": {
                "type": "boolean",
                "example": True,
                "description": "False when more than `count` patients match (the count stopped at its cap).",
            },
            **{k: v for k, v in properties.items() if k != "count"},
        }
        response["properties"] = properties
        response["required"] = [*response.get("required", []), "count_is_exact"]
        return response
