"""TOTP in a browser, with JavaScript on (htmx swaps) and off (plain posts): turn it on by reading the key off the
page, log in with a code, then with a recovery code, turn it off."""

import time

import pyotp
import pytest

from e2e.axe import Axe
from e2e.helpers import NAME, PASSWORD, create_user, expect, log_in, start_two_factor

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def log_out(page):
    await page.get_by_role("banner").get_by_role("button", name="Log out").click()
    await expect(page.get_by_text("You are not logged in")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_turn_on_log_in_with_a_code_and_a_recovery_code_turn_off(new_context, server, javascript):
    create_user(server)
    page = await (await new_context(java_script_enabled=javascript)).new_page()
    await page.goto("/accounts/login")
    await log_in(page)
    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()
    await page.goto("/accounts/settings")

    secret = await start_two_factor(page)
    totp = pyotp.TOTP(secret)
    await page.get_by_label("Code from your app").fill(totp.at(time.time()))
    await page.get_by_role("button", name="Check the code and turn on").click()
    await expect(page.locator("#two-factor").get_by_role("status")).to_contain_text("Two-factor authentication is on.")
    codes = [text.strip() for text in await page.locator("#recovery-codes code").all_inner_texts()]
    assert len(codes) == 10
    await expect(page.get_by_role("link", name="Download the codes")).to_have_attribute("download", "hxauth-recovery-codes.txt")
    await page.get_by_role("link", name="I have saved them").click()
    await expect(page.locator("#two-factor").get_by_text("10 recovery codes")).to_be_visible()

    # A code from the app: the step after the one that turned it on (the same one would be a replay).
    await log_out(page)
    await page.goto("/accounts/login?next=/accounts/settings")
    await log_in(page)
    await expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    await page.get_by_label("Code").fill("000000")
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.get_by_label("Code")).to_have_accessible_description(
        "The code changes every 30 seconds. A recovery code looks like 7k2m-9xqp-4hvd-1tce and works once. "
        "That code is wrong or was used already. Enter the code your app shows now, or a recovery code.")
    await page.get_by_label("Code").fill(totp.at(time.time(), counter_offset=1))
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()

    # A recovery code, once.
    await log_out(page)
    await page.goto("/accounts/login")
    await log_in(page)
    await page.get_by_label("Code").fill(codes[0])
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()

    # Off: the password and a recovery code (the app's next codes may still be used up).
    await page.goto("/accounts/settings")
    await expect(page.locator("#two-factor").get_by_text("9 recovery codes")).to_be_visible()
    off = page.locator("#two-factor-off-form")
    await off.get_by_label("Current password").fill(PASSWORD)
    await off.get_by_label("Code from your app, or a recovery code").fill(codes[1])
    await off.get_by_role("button", name="Turn off two-factor authentication").click()
    await expect(page.locator("#two-factor").get_by_role("status")).to_have_text(
        "Two-factor authentication is off. Logging in takes your password alone.")
    await expect(page.locator("#two-factor").get_by_role("button", name="Turn on")).to_be_visible()


async def test_no_serious_axe_violation_on_the_two_factor_states(new_context, server):
    create_user(server)
    page = await (await new_context(reduced_motion="reduce")).new_page()
    axe = Axe(page)

    await page.goto("/accounts/login")
    await log_in(page)
    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()
    await page.goto("/accounts/settings")
    secret = await start_two_factor(page)
    await axe.check("two-factor: scan the QR code")
    await page.get_by_label("Code from your app").fill("000000")
    await page.get_by_role("button", name="Check the code and turn on").click()
    await expect(page.locator("#two-factor .form-error")).to_be_visible()
    await axe.check("two-factor: a wrong code")
    await page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).at(time.time()))
    await page.get_by_role("button", name="Check the code and turn on").click()
    await expect(page.locator("#recovery-codes")).to_be_visible()
    await axe.check("two-factor: the recovery codes")
    await page.get_by_role("link", name="I have saved them").click()
    await expect(page.locator("#two-factor-off-form")).to_be_visible()
    await axe.check("two-factor: on")
    await log_out(page)
    await page.goto("/accounts/login")
    await log_in(page)
    await expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    await axe.check("login: the code step")
    await page.get_by_label("Code").fill("000000")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    await axe.check("login: a wrong code")

    axe.assert_clean()
