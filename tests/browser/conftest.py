"""Headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser) against pytest-django's live server.

Playwright's sync API keeps an asyncio loop running in the test thread while it is started, so
Django's guard against ORM calls from async code would refuse the tests' own database work. The
guard is lifted (DJANGO_ALLOW_ASYNC_UNSAFE) only while a browser test module runs, and Playwright
lives for one module: neither may leak into the rest of the suite, where the variable would also
reach subprocesses (`manage.py check --deploy` reports it as an error). The live server runs in its
own thread and is unaffected.
"""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "pw-for-tests-1"
# Actions and assertions wait at most this long for the page (a ceiling, not a measurement).
PAGE_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_allowed():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(_async_unsafe_allowed):
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _new_page(browser, **context_options):
    from playwright.sync_api import expect

    # An English-speaking browser: the language the portal starts in comes from Accept-Language.
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Paris", **context_options)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    return context, context.new_page()


@pytest.fixture
def page(browser, live_server):
    context, page = _new_page(browser)
    yield page
    context.close()


@pytest.fixture
def mobile_page(browser, live_server):
    context, page = _new_page(
        browser, viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    yield page
    context.close()


@pytest.fixture
def sign_in(live_server):
    """Sign in through allauth's form, as a person would; returns the page on the landing URL."""
    from playwright.sync_api import expect

    def sign_in(page, email, password=PASSWORD):
        page.goto(f"{live_server.url}/accounts/login/")
        page.locator("input[name=login]").fill(email)
        page.locator("input[name=password]").fill(password)
        page.locator("form").filter(has=page.locator("input[name=password]")).locator("button[type=submit]").click()
        expect(page).not_to_have_url(f"{live_server.url}/accounts/login/")
        return page

    return sign_in


@pytest.fixture(autouse=True)
def _role_groups(transactional_db):
    """Transactional tests end with a flush that also empties the role groups made by migration; make them again."""
    from accounts.roles import roles_sync

    roles_sync()
