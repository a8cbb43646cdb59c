"""`make screenshots`: PNGs of every page and state, desktop and mobile, light and dark, in docs/screenshots/.

Run by pytest, for the `server` and browser fixtures, but not collected by a
plain `pytest` run because the file name does not start with `test_`:
`pytest tests/e2e/screenshots.py`.
"""

import time
from pathlib import Path

import pyotp
import pytest

from conftest import running_server  # tests/conftest.py
from e2e.conftest import DESKTOP, MOBILE
from e2e.helpers import (
    EMAIL, NAME, NO_AUTOFILL, PASSWORD, expect, link_from_mailbox, log_in, sign_up, start_two_factor, virtual_authenticator,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def server(tmp_path):
    """At http://localhost:<port>, where the pages offer passkeys."""
    with running_server(tmp_path, localhost=True) as url:
        yield url


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "mobile"])
async def test_screenshots(new_context, size, scheme):
    viewport = DESKTOP if size == "desktop" else MOBILE
    context = await new_context(viewport=viewport, color_scheme=scheme, reduced_motion="reduce")
    await context.add_init_script(NO_AUTOFILL)  # else the autofill would log in with the passkey on every login page
    page = await context.new_page()
    await virtual_authenticator(page)
    OUT.mkdir(parents=True, exist_ok=True)

    async def shot(state):
        # caret="initial": Playwright's caret hiding leaves style="" on inputs, which htmx would copy into the next swap.
        path = OUT / f"{state}-{size}-{scheme}.png"
        await page.mouse.move(0, 0)  # no hover effect on whatever was clicked last
        await page.screenshot(path=path, full_page=True, animations="disabled", caret="initial")

    await page.goto("/")
    await shot("home")
    await page.get_by_role("main").get_by_role("link", name="Sign Up").click()
    await expect(page.get_by_role("heading", name="Sign up")).to_be_visible()
    await shot("signup")
    await sign_up(page, "", "ada@example", "short")
    await expect(page.locator(".form-error")).to_be_visible()
    await shot("signup-errors")
    await sign_up(page, NAME, EMAIL, PASSWORD)
    await expect(page.get_by_text("Your account is ready")).to_be_visible()
    await expect(page.get_by_role("button", name="Log in with a passkey")).to_be_visible()
    await shot("login")
    await log_in(page, password="not the right password")
    await expect(page.locator(".form-error")).to_be_visible()
    await shot("login-error")
    await log_in(page)
    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()
    await shot("home-logged-in")
    await page.goto("/accounts/settings")
    await expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    await shot("settings")
    await page.locator("#password-form").get_by_label("New password").fill("short")
    await page.locator("#password-form").get_by_role("button", name="Change password").click()
    await expect(page.locator("#password-form .form-error")).to_be_visible()
    await shot("settings-errors")
    secret = await start_two_factor(page)
    await shot("settings-two-factor-scan")
    await page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).at(time.time()))
    await page.get_by_role("button", name="Check the code and turn on").click()
    await expect(page.locator("#recovery-codes")).to_be_visible()
    await shot("settings-recovery-codes")
    await page.get_by_role("link", name="I have saved them").click()
    await page.locator("#passkeys-section").get_by_role("button", name="Add a passkey").click()
    await expect(page.locator("#passkeys-section .flash")).to_be_visible()
    await shot("settings-two-factor-and-passkey")
    await page.goto("/accounts/logout")
    await shot("logout")
    await page.goto(await link_from_mailbox(page, "Confirm your email address for hxauth"))
    await shot("confirm-email")
    await page.goto("/accounts/reset-password")
    await shot("reset-password")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_role("button", name="Send the link").click()
    await expect(page.get_by_text("If an account exists")).to_be_visible()
    await shot("reset-password-sent")
    await page.goto("/dev/mailbox")
    await shot("mailbox")
    await page.get_by_role("link", name="Reset your hxauth password").first.click()
    await expect(page.frame_locator("iframe.mail-html").get_by_text("Reset", exact=False).first).to_be_visible()
    await shot("mailbox-message")
    await page.goto(await link_from_mailbox(page, "Reset your hxauth password"))
    await shot("new-password")
    await page.goto("/accounts/reset-password/" + "x" * 43)
    await shot("link-does-not-work")
    await page.goto("/no/such/page")
    await shot("not-found")
    await page.get_by_role("banner").get_by_role("button", name="Log out").click()
    await expect(page.get_by_text("You are not logged in")).to_be_visible()
    await page.goto("/accounts/login")
    await log_in(page)
    await expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    await shot("login-code")
    await page.get_by_label("Code").fill("000000")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    await shot("login-code-error")
