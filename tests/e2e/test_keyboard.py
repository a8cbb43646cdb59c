"""The whole flow by keyboard only (Tab, typing, Enter), with JavaScript on and off."""

import pytest

from e2e.helpers import EMAIL, NAME, PASSWORD, assert_focus, create_user, expect, tab_to

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_sign_up_log_in_and_log_out_by_keyboard(new_context, javascript):
    page = await (await new_context(java_script_enabled=javascript)).new_page()
    keyboard = page.keyboard
    # Where a new page starts the keyboard: a page load at the top of the document; an htmx swap of the
    # page at the new content (app.js).
    new_page_focus = "main#main" if javascript else "body"
    await page.goto("/")

    # The first Tab shows the skip link; Enter on it moves the focus to the content.
    await keyboard.press("Tab")
    await assert_focus(page, "a:Skip to content")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_in_viewport()
    await keyboard.press("Enter")
    await assert_focus(page, "main#main")

    await tab_to(page, "a:Sign Up")
    await keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Sign up")).to_be_visible()
    await assert_focus(page, new_page_focus)

    # Enter on the empty form: the errors appear and the focus is on the first field to fix.
    await tab_to(page, "input#name")
    await keyboard.press("Enter")
    await expect(page.get_by_role("alert")).to_be_visible()
    await assert_focus(page, "input#name")
    await keyboard.type(NAME)
    await keyboard.press("Tab")
    await keyboard.type(EMAIL)
    await keyboard.press("Tab")
    await assert_focus(page, "input#password")
    await keyboard.type(PASSWORD)
    await keyboard.press("Enter")

    await expect(page.get_by_text("Your account is ready. Log in to continue.")).to_be_visible()
    await assert_focus(page, new_page_focus)
    await tab_to(page, "input#email")
    await keyboard.type(EMAIL)
    await keyboard.press("Tab")
    await keyboard.type(PASSWORD)
    await keyboard.press("Enter")

    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()
    await assert_focus(page, new_page_focus)
    await tab_to(page, "button:Log out")
    await keyboard.press("Enter")
    await expect(page.get_by_text("You are not logged in")).to_be_visible()
    await assert_focus(page, new_page_focus)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_rename_and_delete_the_account_in_settings_by_keyboard(new_context, server, javascript):
    create_user(server)
    page = await (await new_context(java_script_enabled=javascript)).new_page()
    keyboard = page.keyboard
    await page.goto("/accounts/login")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await keyboard.press("Enter")
    await expect(page.get_by_role("heading", name=f"Hi {NAME}!")).to_be_visible()
    await assert_focus(page, "main#main" if javascript else "body")
    await tab_to(page, "a:Settings")
    await keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    await assert_focus(page, "main#main" if javascript else "body")
    await tab_to(page, "input#name")
    await keyboard.press("ControlOrMeta+a")
    await keyboard.type("Ada King")
    await keyboard.press("Enter")
    await expect(page.locator("#name-form").get_by_role("status")).to_have_text("Your name is saved.")

    # Delete without ticking the box: the error, and the focus on the box to fix.
    await tab_to(page, "input#delete-current-password")
    await keyboard.type(PASSWORD)
    await keyboard.press("Enter")
    await expect(page.locator("#delete-form").get_by_text("Tick this box to confirm")).to_be_visible()
    await assert_focus(page, "input#confirm-delete")
    await keyboard.press("Space")
    await keyboard.press("Shift+Tab")
    await assert_focus(page, "input#delete-current-password")
    await keyboard.type(PASSWORD)
    await tab_to(page, "button:Delete my account")
    await keyboard.press("Enter")
    await expect(page.get_by_text("You are not logged in")).to_be_visible()
