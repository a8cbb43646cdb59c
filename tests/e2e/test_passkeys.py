"""Passkeys in Chromium with a virtual authenticator (the DevTools protocol's WebAuthn domain): add one in
Settings, name it, log out, log in with it alone by the button and by the email field's autofill, remove it
(with the password, or with the passkey in its place).

WebAuthn refuses IP-address origins, so this module's server is http://localhost:<port> (BASE_URL too).
Under automation Chromium answers the autofill's conditional request at once with the authenticator's
passkey (a person would pick it from the email field's suggestions); a browser without that autofill is
made by hiding `PublicKeyCredential.isConditionalMediationAvailable`, and there the button is the way."""

import re
import time

import pyotp
import pytest

from conftest import running_server  # tests/conftest.py
from e2e.axe import Axe
from e2e.helpers import NAME, NO_AUTOFILL, PASSWORD, create_user, expect, log_in, start_two_factor, virtual_authenticator

pytestmark = pytest.mark.asyncio(loop_scope="session")
MADE_HERE = re.compile(r"^Passkey on .*Chrome.* on Linux$")  # the browser and system it was made on


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path, localhost=True) as url:
        yield url


async def credentials(cdp, authenticator) -> list[dict]:
    return (await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator}))["credentials"]


async def log_out(page):
    await page.get_by_role("banner").get_by_role("button", name="Log out").click()
    await expect(page.get_by_text("You are not logged in")).to_be_visible()


async def add_passkey(page):
    """Log in with the password and add a passkey in Settings; the page stays on Settings."""
    await page.goto("/accounts/login")
    await log_in(page)
    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()
    await page.goto("/accounts/settings")
    section = page.locator("#passkeys-section")
    await expect(section.get_by_text("You have no passkeys yet.")).to_be_visible()
    await section.get_by_role("button", name="Add a passkey").click()
    await expect(section.get_by_role("status").first).to_have_text("Your passkey is added. You can log in with it now.")
    return section


async def test_add_a_passkey_log_in_with_the_button_rename_and_remove_it(new_context, server):
    create_user(server)
    context = await new_context()
    await context.add_init_script(NO_AUTOFILL)
    page = await context.new_page()
    cdp, authenticator = await virtual_authenticator(page)
    section = await add_passkey(page)
    [credential] = await credentials(cdp, authenticator)
    assert credential["isResidentCredential"] and credential["rpId"] == "localhost"
    await expect(section.get_by_label("Passkey name")).to_have_value(MADE_HERE)
    await section.get_by_label("Passkey name").fill("Work laptop")
    await section.get_by_role("button", name=re.compile("^Rename Passkey on ")).click()
    await expect(section.get_by_role("status").first).to_have_text("The passkey's name is saved.")
    await expect(section.locator("dd").nth(1)).to_have_text("Never")  # last used

    await log_out(page)
    await page.goto("/accounts/login?next=/accounts/settings")
    await page.get_by_role("button", name="Log in with a passkey").click()  # no email, no password
    await expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    await expect(section.get_by_label("Passkey name")).to_have_value("Work laptop")
    await expect(section.locator("dd").nth(1)).not_to_have_text("Never")
    assert (await credentials(cdp, authenticator))[0]["signCount"] >= 1

    await section.get_by_label("Current password").fill(PASSWORD)
    await section.get_by_role("button", name="Remove Work laptop", exact=True).click()
    await expect(section.get_by_role("status").first).to_have_text("That passkey is removed.")
    await expect(section.get_by_text("You have no passkeys yet.")).to_be_visible()

    # The authenticator still holds the passkey, but the site no longer knows it.
    await log_out(page)
    await page.goto("/accounts/login")
    await page.get_by_role("button", name="Log in with a passkey").click()
    await expect(page.get_by_role("alert")).to_contain_text("That passkey did not log you in.")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()


async def test_the_email_fields_autofill_logs_in_with_the_passkey(new_context, server):
    create_user(server)
    page = await (await new_context()).new_page()
    await virtual_authenticator(page)
    await add_passkey(page)
    await log_out(page)
    await page.goto("/accounts/login?next=/accounts/settings")
    await expect(page.get_by_label("Email")).to_have_attribute("autocomplete", "username webauthn")
    # The autofill's request waits from the moment the page is shown; the passkey picked, the user is in.
    await expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    await expect(page.locator("#who")).to_have_text(NAME)

    # Removing it needs the password, or a passkey in its place.
    section = page.locator("#passkeys-section")
    await section.get_by_role("button", name=re.compile("^Remove, confirming with a passkey: ")).click()
    await expect(section.get_by_role("status").first).to_have_text("That passkey is removed.")
    await expect(section.get_by_text("You have no passkeys yet.")).to_be_visible()


async def test_without_javascript_no_passkey_button_and_the_password_still_works(new_context, server):
    create_user(server)
    page = await (await new_context(java_script_enabled=False)).new_page()
    await page.goto("/accounts/login")
    await expect(page.get_by_role("button", name="Log in with a passkey")).to_be_hidden()
    await log_in(page)
    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()
    await page.goto("/accounts/settings")
    await expect(page.get_by_role("button", name="Add a passkey")).to_be_hidden()
    await expect(page.get_by_text("Adding a passkey needs JavaScript, in a browser that supports passkeys.")).to_be_visible()


async def test_no_serious_axe_violation_on_the_passkey_states(new_context, server):
    create_user(server)
    context = await new_context(reduced_motion="reduce")
    await context.add_init_script(NO_AUTOFILL)
    page = await context.new_page()
    await virtual_authenticator(page)
    axe = Axe(page)

    await page.goto("/accounts/login")
    await expect(page.get_by_role("button", name="Log in with a passkey")).to_be_visible()
    await axe.check("login with the passkey button")
    section = await add_passkey(page)
    await axe.check("settings with a passkey")
    await section.get_by_role("button", name=re.compile("^Remove Passkey on .*Linux$")).click()
    await expect(section.locator(".form-error")).to_be_visible()
    await axe.check("settings, passkey removal without a password")
    await section.get_by_label("Current password").fill(PASSWORD)
    await section.get_by_role("button", name=re.compile("^Remove Passkey on .*Linux$")).click()
    await expect(section.get_by_role("status").first).to_have_text("That passkey is removed.")
    await log_out(page)
    await page.goto("/accounts/login")
    await page.get_by_role("button", name="Log in with a passkey").click()  # the authenticator's passkey, now unknown
    await expect(page.get_by_role("alert")).to_contain_text("That passkey did not log you in.")
    await axe.check("login, passkey refused")

    axe.assert_clean()


async def test_with_two_factor_authentication_on_a_passkey_is_both_factors(new_context, server):
    """The issue's whole story: TOTP on by scanning (the key read off the page), then a passkey, which alone logs in."""
    create_user(server)
    context = await new_context()
    await context.add_init_script(NO_AUTOFILL)
    page = await context.new_page()
    await virtual_authenticator(page)
    await page.goto("/accounts/login")
    await log_in(page)
    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()
    await page.goto("/accounts/settings")
    secret = await start_two_factor(page)
    await page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).at(time.time()))
    await page.get_by_role("button", name="Check the code and turn on").click()
    await page.get_by_role("link", name="I have saved them").click()
    section = page.locator("#passkeys-section")
    await section.get_by_role("button", name="Add a passkey").click()
    await expect(section.get_by_role("status").first).to_have_text("Your passkey is added. You can log in with it now.")

    await log_out(page)
    await page.goto("/accounts/login")
    await log_in(page)  # the password alone: the code step
    await expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    await page.goto("/accounts/login")
    await page.get_by_role("button", name="Log in with a passkey").click()  # the passkey alone: logged in
    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()
