"""The REST API's page size, shared by every app's list endpoints (the default pagination class)."""

from rest_framework import pagination


class SalusPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
