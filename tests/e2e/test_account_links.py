"""Forgot password -> mail -> new password -> log in, and sign up -> confirm by mail, clicking and typing, with
JavaScript on and off. The mail is read where a developer reads it: /dev/mailbox."""

import re

import pytest

from e2e.helpers import EMAIL, NAME, PASSWORD, create_user, expect, link_from_mailbox, log_in, mark_window, sign_up, window_marker
from e2e.test_flows import Posts, url

pytestmark = pytest.mark.asyncio(loop_scope="session")
js_on_and_off = pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
NEW_PASSWORD = "a fresh passphrase for ada"


async def open_page(new_context, javascript):
    page = await (await new_context(java_script_enabled=javascript)).new_page()
    return page, Posts(page)


@js_on_and_off
async def test_forgot_password_mail_new_password_log_in(new_context, server, javascript):
    create_user(server)
    page, posts = await open_page(new_context, javascript)
    await page.goto("/accounts/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    await expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    await expect(page).to_have_url(url("/accounts/reset-password"))
    if javascript:
        await mark_window(page)
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_role("button", name="Send the link").click()
    await expect(page.get_by_role("status")).to_contain_text(f"If an account exists for {EMAIL}, we sent a link")
    if javascript:
        assert await window_marker(page) == "still here", "the form's answer loaded a whole page"

    link = await link_from_mailbox(page, "Reset your hxauth password")
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    password = page.get_by_label("New password")
    await password.fill("too short")
    await page.get_by_role("button", name="Set the new password").click()
    await expect(password).to_have_attribute("aria-invalid", "true")
    await expect(password).to_have_accessible_description(re.compile("Use at least 15 characters"))
    await expect(password).to_have_value("")
    await password.fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set the new password").click()

    await expect(page).to_have_url(url("/accounts/login"))
    await expect(page.get_by_role("status")).to_contain_text("Your password was changed")
    await log_in(page, password=PASSWORD)
    await expect(page.get_by_text("Invalid email or password.")).to_be_visible()
    await log_in(page, password=NEW_PASSWORD)
    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()

    await page.goto(link)  # the link works once
    await expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    posts.check(javascript)


@js_on_and_off
async def test_sign_up_send_the_link_again_and_confirm(new_context, javascript):
    page, posts = await open_page(new_context, javascript)
    await page.goto("/accounts/signup")
    await sign_up(page, NAME, EMAIL, PASSWORD)
    await expect(page.get_by_text("Your account is ready")).to_be_visible()
    await log_in(page)
    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()
    await expect(page.get_by_text("Please confirm your email address")).to_be_visible()

    await page.get_by_role("button", name="Send the link again").click()
    await expect(page.get_by_role("status")).to_contain_text("We sent a new" if javascript else "We sent a new confirmation link")
    await expect(page).to_have_url(url("/"))

    link = await link_from_mailbox(page, "Confirm your email address for hxauth")
    await page.goto(link)
    await expect(page.get_by_text(f"Confirm that {EMAIL} is your email address.")).to_be_visible()
    await page.get_by_role("button", name="Confirm my email").click()
    await expect(page).to_have_url(url("/"))
    await expect(page.get_by_role("status")).to_have_text("Your email address is confirmed.")
    await expect(page.get_by_text("Please confirm your email address")).to_have_count(0)
    posts.check(javascript)


@js_on_and_off
async def test_a_link_used_up_in_another_tab_shows_its_page_in_place_of_the_form(new_context, server, javascript):
    create_user(server)
    context = await new_context(java_script_enabled=javascript)
    first, second = await context.new_page(), await context.new_page()
    await first.goto("/accounts/reset-password")
    await first.get_by_label("Email").fill(EMAIL)
    await first.get_by_role("button", name="Send the link").click()
    await expect(first.get_by_role("status")).to_contain_text("If an account exists")
    link = await link_from_mailbox(first, "Reset your hxauth password")
    for page in (first, second):
        await page.goto(link)
    await second.get_by_label("New password").fill(NEW_PASSWORD)
    await second.get_by_role("button", name="Set the new password").click()
    await expect(second.get_by_role("status")).to_contain_text("Your password was changed")

    if javascript:
        await mark_window(first)
    await first.get_by_label("New password").fill("yet another passphrase here")
    await first.get_by_role("button", name="Set the new password").click()
    await expect(first.get_by_role("heading", name="This link does not work")).to_be_visible()
    await expect(first.get_by_role("heading", name="Choose a new password")).to_have_count(0)
    await expect(first.get_by_role("link", name="Ask for a new link")).to_be_visible()
    if javascript:
        assert await window_marker(first) == "still here"
