"""Settings in a browser, with JavaScript on (htmx swaps, no page load) and off (plain posts): rename, change the
email through the link, change the password and see the other browser logged out, end a session from the list,
delete the account."""

import re

import pytest

from e2e.helpers import EMAIL, NAME, PASSWORD, create_user, expect, link_from_mailbox, log_in, mark_window, window_marker

pytestmark = pytest.mark.asyncio(loop_scope="session")
js_on_and_off = pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
NEW_EMAIL, NEW_PASSWORD = "ada.new@example.com", "a brand new passphrase for ada"


def url(path: str):
    return re.compile(r"^http://127\.0\.0\.1:\d+" + re.escape(path) + "$")


async def logged_in_page(new_context, javascript=True, **options):
    page = await (await new_context(java_script_enabled=javascript, **options)).new_page()
    await page.goto("/accounts/login")
    await log_in(page)
    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()
    return page


async def assert_no_page_load(page, javascript: bool) -> None:
    if javascript:
        assert await window_marker(page) == "still here", "a step loaded a whole page instead of swapping a part"


@js_on_and_off
async def test_rename_change_email_and_password_end_a_session_and_delete_the_account(new_context, server, javascript):
    create_user(server)
    other = await logged_in_page(new_context, user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) "
                                 "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")
    page = await logged_in_page(new_context, javascript)
    await page.get_by_role("banner").get_by_role("link", name="Settings").click()
    await expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    await expect(page).to_have_url(url("/accounts/settings"))
    await expect(page).to_have_title("Settings · hxauth")
    if javascript:
        await mark_window(page)

    # Name: a mistake first, then the new name, in the section and in the header.
    name_form = page.locator("#name-form")
    await name_form.get_by_label("Name").fill("   ")
    await name_form.get_by_role("button", name="Save name").click()
    await expect(name_form.get_by_label("Name")).to_have_accessible_description("Enter your name.")
    await name_form.get_by_label("Name").fill("Ada King")
    await name_form.get_by_role("button", name="Save name").click()
    await expect(page.locator("#name-form").get_by_role("status")).to_have_text("Your name is saved.")
    await expect(page.get_by_role("banner").get_by_text("Ada King")).to_be_visible()

    # Email: the link goes to the new address, and the address changes when it is used.
    email_form = page.locator("#email-form")
    await email_form.get_by_label("New email").fill(NEW_EMAIL)
    await email_form.get_by_label("Current password").fill(PASSWORD)
    await email_form.get_by_role("button", name="Send a link to the new address").click()
    await expect(page.locator("#email-form").get_by_role("status")).to_contain_text("We sent a link to your new address.")
    await assert_no_page_load(page, javascript)
    mailbox = await (await new_context()).new_page()
    path = await link_from_mailbox(mailbox, "Confirm your new email address for hxauth")
    await page.goto(path)
    await expect(page.get_by_text(f"Use {NEW_EMAIL} for your account")).to_be_visible()
    await page.get_by_role("button", name="Confirm my new email").click()
    await expect(page.locator("#email-form").get_by_role("status")).to_have_text("Your email address is changed.")
    await expect(page.locator("#email-form").get_by_text(NEW_EMAIL)).to_be_visible()
    await expect(page).to_have_url(url("/accounts/settings"))
    if javascript:
        await mark_window(page)

    # The other browser is in the list; ending it logs it out at once.
    sessions = page.locator("#sessions-list")
    await expect(sessions.get_by_text("This device")).to_have_count(1)
    await expect(sessions.get_by_text("Mobile Safari 17 on iOS 17")).to_be_visible()
    await sessions.get_by_role("button", name=re.compile("^Log out Mobile Safari")).click()
    await expect(page.locator("#sessions-list").get_by_role("status")).to_have_text("That session is logged out.")
    await expect(page.locator("#sessions-list").get_by_text("Mobile Safari 17 on iOS 17")).to_have_count(0)
    await other.reload()
    await expect(other.get_by_text("You are not logged in")).to_be_visible()

    # Password: the other browser, logged in again, is logged out by the change.
    await other.goto("/accounts/login")
    await log_in(other, email=NEW_EMAIL)
    await expect(other.get_by_role("heading", name="Hi Ada King!")).to_be_visible()
    password_form = page.locator("#password-form")
    await password_form.get_by_label("Current password").fill("not my password at all")
    await password_form.get_by_label("New password").fill(NEW_PASSWORD)
    await password_form.get_by_role("button", name="Change password").click()
    await expect(page.locator("#password-form").get_by_label("Current password")).to_have_accessible_description(
        "That is not your current password.")
    await page.locator("#password-form").get_by_label("Current password").fill(PASSWORD)
    await page.locator("#password-form").get_by_label("New password").fill(NEW_PASSWORD)
    await page.locator("#password-form").get_by_role("button", name="Change password").click()
    await expect(page.locator("#password-form").get_by_role("status")).to_have_text(
        "Your password is changed, and every other session is logged out.")
    await other.reload()
    await expect(other.get_by_text("You are not logged in")).to_be_visible()
    await assert_no_page_load(page, javascript)

    # Delete: the box must be ticked; then home, logged out, and the address can sign up again.
    delete_form = page.locator("#delete-form")
    await delete_form.get_by_label("Current password").fill(NEW_PASSWORD)
    await delete_form.get_by_role("button", name="Delete my account").click()
    await expect(page.locator("#delete-form").get_by_text("Tick this box to confirm")).to_be_visible()
    await page.locator("#delete-form").get_by_label("Current password").fill(NEW_PASSWORD)
    await page.locator("#delete-form").get_by_label("Yes, delete my account").check()
    await page.locator("#delete-form").get_by_role("button", name="Delete my account").click()
    await expect(page.get_by_text("You are not logged in")).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text("Your account and everything in it are deleted. Goodbye!")
    await expect(page).to_have_url(url("/"))
    await assert_no_page_load(page, javascript)
    await page.goto("/accounts/login")
    await log_in(page, email=NEW_EMAIL, password=NEW_PASSWORD)
    await expect(page.get_by_text("Invalid email or password.")).to_be_visible()


@js_on_and_off
async def test_keep_me_logged_in_shows_in_the_sessions_list(new_context, server, javascript):
    create_user(server)
    page = await (await new_context(java_script_enabled=javascript)).new_page()
    await page.goto("/accounts/login")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Keep me logged in").check()
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()
    cookie = next(c for c in await page.context.cookies() if c["name"] == "session")
    assert cookie["expires"] > 0  # persistent: it outlives the browser
    await page.goto("/accounts/settings")
    await expect(page.locator("#sessions-list").get_by_text("Kept logged in")).to_be_visible()
