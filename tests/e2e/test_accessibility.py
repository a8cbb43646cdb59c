"""axe-core on every page and state, light and dark; errors announced.

Form errors (role=alert, aria-invalid, aria-describedby) and the focus moving
to the first field to fix are checked along the flows, in test_flows.py and
test_keyboard.py.
"""

import pytest

from e2e.axe import Axe, describe
from e2e.helpers import EMAIL, NAME, PASSWORD, create_user, expect, link_from_mailbox, log_in, sign_up

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_no_serious_axe_violation_on_any_page_light_or_dark(new_context, server):
    create_user(server, name="Existing", email="taken@example.com")
    # No transitions: axe would measure a button's colours halfway from one theme to the other.
    page = await (await new_context(reduced_motion="reduce")).new_page()
    axe = Axe(page)

    await page.goto("/")
    await axe.check("home, anonymous")
    await page.goto("/accounts/signup")
    await axe.check("signup")
    await sign_up(page, "", "not-an-email", "short")
    await page.locator(".form-error").wait_for()
    await axe.check("signup with errors")
    await sign_up(page, NAME, "taken@example.com", PASSWORD)
    await page.get_by_text("User already exists").wait_for()
    await axe.check("signup, email taken")
    await sign_up(page, NAME, EMAIL, PASSWORD)
    await page.get_by_text("Your account is ready").wait_for()
    await axe.check("login with the signup flash")
    await log_in(page, password="wrong password, clearly")
    await page.get_by_text("Invalid email or password.").wait_for()
    await axe.check("login with an error")
    await log_in(page)
    await page.get_by_role("heading", name=f"Hi {NAME}!").wait_for()
    await axe.check("home, logged in, unconfirmed")
    await page.get_by_role("button", name="Send the link again").click()
    await page.get_by_text("We sent a new link").wait_for()
    await axe.check("home, confirmation link sent again")
    await page.goto("/dev/mailbox")
    await axe.check("development mailbox")
    await page.get_by_role("link", name="Confirm your email address for hxauth").first.click()
    await page.locator("iframe.mail-html").wait_for()
    await axe.check("development mailbox, a message")
    await page.goto(await link_from_mailbox(page, "Confirm your email address for hxauth"))
    await axe.check("confirm email")
    await page.get_by_role("button", name="Confirm my email").click()
    await page.get_by_text("Your email address is confirmed.").wait_for()
    await axe.check("home, confirmed")
    await page.goto("/accounts/logout")
    await axe.check("logout confirmation")
    await page.goto("/no/such/page")
    await axe.check("404 page")
    await page.goto("/accounts/reset-password")
    await axe.check("reset password")
    await page.get_by_label("Email").fill("not-an-email")
    await page.get_by_role("button", name="Send the link").click()
    await page.locator(".error").wait_for()
    await axe.check("reset password with an error")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_role("button", name="Send the link").click()
    await page.get_by_text("If an account exists").wait_for()
    await axe.check("reset password, link sent")
    link = await link_from_mailbox(page, "Reset your hxauth password")
    await page.goto(link)
    await axe.check("new password")
    await page.get_by_label("New password").fill("short")
    await page.get_by_role("button", name="Set the new password").click()
    await page.locator(".form-error").wait_for()
    await axe.check("new password with an error")
    await page.goto("/accounts/reset-password/" + "x" * 43)
    await axe.check("a link that does not work")

    everything = {state: v for state, v in axe.seen.items() if v}
    axe.assert_clean()
    if everything:  # minor and moderate findings: shown with -rP, not failures
        print("\n".join(f"{state}: {describe(found)}" for state, found in everything.items()))


async def test_an_error_outside_the_form_is_announced_in_the_live_region(new_context, server):
    """Two tabs on the login page; logging in on one renews the CSRF token, so the other's post is refused.
    The refusal lands in #alerts (aria-live) above the page, and what was typed stays."""
    create_user(server)
    context = await new_context()
    first, second = await context.new_page(), await context.new_page()
    await first.goto("/accounts/login")
    await second.goto("/accounts/login")
    await log_in(second)
    await expect(second.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()

    await first.bring_to_front()
    await log_in(first)
    alerts = first.locator("#alerts")
    await expect(alerts).to_have_attribute("aria-live", "polite")
    await expect(alerts.get_by_role("alert")).to_contain_text("Your session changed or expired.")
    await expect(first.get_by_label("Email")).to_have_value(EMAIL)


async def test_no_serious_axe_violation_on_the_settings_page_light_or_dark(new_context, server):
    create_user(server)
    other = await (await new_context()).new_page()  # a second session, for the list's "Log out" buttons
    await other.goto("/accounts/login")
    await log_in(other)
    page = await (await new_context(reduced_motion="reduce")).new_page()
    await page.goto("/accounts/login")
    await log_in(page)
    await page.get_by_role("heading", name=f"Hi {NAME}!").wait_for()
    axe = Axe(page)

    await page.goto("/accounts/settings")
    await axe.check("settings")
    await page.locator("#name-form").get_by_label("Name").fill("")
    await page.locator("#name-form").get_by_role("button", name="Save name").click()
    await page.locator("#name-form .form-error").wait_for()
    await page.locator("#delete-form").get_by_role("button", name="Delete my account").click()
    await page.locator("#delete-form .form-error").wait_for()
    await axe.check("settings with errors")
    await page.locator("#name-form").get_by_label("Name").fill("Ada King")
    await page.locator("#name-form").get_by_role("button", name="Save name").click()
    await page.locator("#name-form .flash").wait_for()
    await axe.check("settings with a message")

    axe.assert_clean()
