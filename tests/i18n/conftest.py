import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _language_restored():
    """Requests made by the test client activate the signed-in person's language on this thread;
    the tests that follow start in the site's language again."""
    yield
    translation.deactivate()
