"""Browser fixtures: Debian's Chromium driven by Playwright, one browser per session, a fresh context per test.

Playwright's own browser download cannot work here, so the browser is the
system's Chromium (`/usr/bin/chromium`, or `$CHROMIUM`). When it or the
`playwright` package is missing the browser tests are skipped, with the reason,
except in CI (`CI=true`), where that is a failure.

The tests use Playwright's async API on one session-wide event loop (each
module says `pytestmark = pytest.mark.asyncio(loop_scope="session")`): the
sync API marks its loop as running for the whole session, which would break
every async test and fixture that runs after it.
"""

import os

import pytest
import pytest_asyncio

from conftest import unavailable  # tests/conftest.py

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Headless, as root, on a machine without network or GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 360, "height": 740}
TIMEOUT_MS = 10_000  # a click or an expectation that takes longer than this is a failure, not a wait


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the Python package `playwright` is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium chromium-driver)"
    return None


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def _chromium():
    """The session's browser, or the reason there is none (each test then skips, or fails in CI)."""
    reason = missing_browser()
    if reason:
        yield reason
        return
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def browser(_chromium):
    if isinstance(_chromium, str):
        unavailable(f"browser tests cannot run: {_chromium}")
    return _chromium


class PageErrors(list):
    """Uncaught exceptions and CSP refusals seen by the pages of a test; it ends with none."""

    def watch(self, page):
        page.on("pageerror", lambda error: self.append(f"uncaught: {error}"))
        page.on("console", self._console)

    def _console(self, message):
        # Chrome logs every 4xx/5xx response ("Failed to load resource"); 422s and 429s are expected here.
        if message.type == "error" and "Failed to load resource" not in message.text:
            where = message.location
            self.append(f"console: {message.text} (at {where.get('url')}:{where.get('lineNumber')})")


@pytest_asyncio.fixture(loop_scope="session")
async def new_context(browser, server):
    """`await new_context(**options)`: a browser context on the test's server (no cookies), closed at the end."""
    contexts, errors = [], PageErrors()

    async def make(**options):
        context = await browser.new_context(**{"base_url": server, "viewport": DESKTOP, **options})
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", errors.watch)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        await context.close()
    assert not errors, "the page reported errors:\n" + "\n".join(errors)


@pytest_asyncio.fixture(loop_scope="session")
async def page(new_context):
    """A page with JavaScript on, desktop size."""
    return await (await new_context()).new_page()

