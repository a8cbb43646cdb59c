"""The flows a person goes through, clicking and typing: with JavaScript on (htmx swaps, no page load) and off
(plain form posts, one page load each)."""

import asyncio
import re

import pytest

from e2e.helpers import (
    EMAIL, NAME, PASSWORD, assert_focus, create_user, expect, log_in, mark_window, sign_up, window_marker,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
GREETING = f"Hi {NAME}!"
js_on_and_off = pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])


def url(path: str):
    """For `expect(page).to_have_url(...)`: `path` on the test server."""
    return re.compile(r"^http://127\.0\.0\.1:\d+" + re.escape(path) + "$")


class Posts(list):
    """The page's form posts: with JavaScript they are htmx fetches, without it page navigations."""

    def __init__(self, page):
        super().__init__()
        page.on("request", lambda request: request.method == "POST" and self.append(request))

    def check(self, javascript: bool) -> None:
        assert self, "no form was posted"
        kinds = {"page load" if request.is_navigation_request() else "fetch" for request in self}
        assert kinds == {"fetch" if javascript else "page load"}, kinds


async def open_page(new_context, javascript: bool):
    page = await (await new_context(java_script_enabled=javascript)).new_page()
    return page, Posts(page)


async def assert_no_page_load(page, javascript: bool) -> None:
    if javascript:
        assert await window_marker(page) == "still here", "a step loaded a whole page instead of swapping a part"


@js_on_and_off
async def test_sign_up_with_a_mistake_log_in_see_greeting_log_out(new_context, javascript):
    page, posts = await open_page(new_context, javascript)
    await page.goto("/")
    await expect(page.get_by_text("You are not logged in")).to_be_visible()
    if javascript:
        await mark_window(page)

    await page.get_by_role("main").get_by_role("link", name="Sign Up").click()
    await expect(page.get_by_role("heading", name="Sign up")).to_be_visible()
    await expect(page).to_have_url(url("/accounts/signup"))
    await expect(page).to_have_title("Sign up · hxauth")

    # A mistake first: the errors are shown by their fields, the first one to fix has the focus.
    await sign_up(page, NAME, "ada@example", "short")
    await expect(page.get_by_role("alert")).to_have_text("Please correct the fields marked below.")
    name, email, password = page.get_by_label("Name"), page.get_by_label("Email"), page.get_by_label("Password")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(email).to_have_accessible_description(re.compile("Enter an email address"))
    await expect(password).to_have_accessible_description(re.compile("Use at least 15 characters"))
    await expect(name).not_to_have_attribute("aria-invalid", "true")
    await expect(name).to_have_value(NAME)
    await expect(email).to_have_value("ada@example")
    await expect(password).to_have_value("")  # never echoed
    await assert_focus(page, "input#email")
    await expect(page).to_have_url(url("/accounts/signup"))

    await email.fill(EMAIL)
    await password.fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await expect(page).to_have_url(url("/accounts/login"))
    await expect(page.get_by_role("status")).to_have_text("Your account is ready. Log in to continue.")
    await log_in(page)

    await expect(page.get_by_role("heading", name=GREETING)).to_be_visible()
    await expect(page).to_have_url(url("/"))
    await expect(page.get_by_text(f"You are logged in as {EMAIL}")).to_be_visible()
    await page.get_by_role("banner").get_by_role("button", name="Log out").click()

    await expect(page.get_by_text("You are not logged in")).to_be_visible()
    await expect(page.get_by_text(GREETING)).to_have_count(0)
    await expect(page).to_have_url(url("/"))
    await expect(page).to_have_title("Home · hxauth")
    await assert_no_page_load(page, javascript)
    assert len(posts) == 4  # signup twice, login, logout
    posts.check(javascript)


@js_on_and_off
async def test_wrong_password_shows_the_error_and_focuses_the_password(new_context, server, javascript):
    create_user(server)
    page, posts = await open_page(new_context, javascript)
    await page.goto("/accounts/login")
    if javascript:
        await mark_window(page)
    await log_in(page, password="not the right password")

    await expect(page.get_by_role("alert")).to_have_text("Invalid email or password.")
    await expect(page.get_by_label("Email")).to_have_value(EMAIL)
    await expect(page.get_by_label("Password")).to_have_value("")
    await assert_focus(page, "input#password")
    await expect(page).to_have_url(url("/accounts/login"))
    await assert_no_page_load(page, javascript)

    await page.keyboard.type(PASSWORD)  # straight into the focused field
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.get_by_role("heading", name=GREETING)).to_be_visible()
    await assert_no_page_load(page, javascript)
    posts.check(javascript)


@pytest.mark.parametrize("form", ["login", "signup"])
async def test_submit_button_is_disabled_while_the_request_is_in_flight(page, server, form):
    posts, answer = Posts(page), asyncio.Event()

    async def held_post(route):
        """The POST waits, in flight, until the test has seen the form while it runs."""
        if route.request.method == "POST":
            await answer.wait()
        await route.continue_()

    await page.route(f"**/accounts/{form}", held_post)
    if form == "login":
        create_user(server)
        await page.goto("/accounts/login")
        await log_in(page)
        button = page.get_by_role("button", name="Log in", exact=True)
        done = page.get_by_role("heading", name=GREETING)
    else:
        await page.goto("/accounts/signup")
        await sign_up(page, NAME, EMAIL, PASSWORD)
        button = page.get_by_role("button", name="Create account")
        done = page.get_by_text("Your account is ready. Log in to continue.")

    await expect(button).to_be_disabled()
    await expect(page.locator(f"#{form}-form")).to_have_class(re.compile(r"\bhtmx-request\b"))
    await expect(button.locator(".spinner")).to_be_visible()
    await page.get_by_label("Password").press("Enter")  # submitting again while it runs sends nothing
    answer.set()
    await expect(done).to_be_visible()
    assert len(posts) == 1
    posts.check(javascript=True)


@js_on_and_off
async def test_back_button_after_logout_shows_no_logged_in_page(new_context, server, javascript):
    create_user(server)
    page, _ = await open_page(new_context, javascript)
    await page.goto("/accounts/login")
    await log_in(page)
    await expect(page.get_by_role("heading", name=GREETING)).to_be_visible()
    await page.get_by_role("link", name="hxauth").click()  # home again, through a link
    await expect(page.get_by_role("heading", name=GREETING)).to_be_visible()
    await page.get_by_role("banner").get_by_role("button", name="Log out").click()
    await expect(page.get_by_text("You are not logged in")).to_be_visible()

    anonymous_or_login = page.get_by_role("heading", name="Welcome").or_(page.get_by_role("heading", name="Log in"))
    # Each step back asks the server again (pages are `no-store`; htmx re-fetches on history restore).
    refetched = []
    page.on("request", lambda request: request.resource_type in ("document", "fetch") and refetched.append(request))
    for _ in range(4):  # back through the logged-in home pages to the login form
        refetched.clear()
        await page.go_back()
        await expect(anonymous_or_login).to_be_visible()
        await expect(page.get_by_text(GREETING)).to_have_count(0)
        await expect(page.get_by_text(EMAIL)).to_have_count(0)
        assert [request.url for request in refetched] == [page.url]
        if javascript:
            assert refetched[0].headers.get("hx-history-restore-request") == "true"
        if page.url.endswith("/accounts/login"):
            break
    else:
        raise AssertionError(f"Back never reached the login page; at {page.url}")


@js_on_and_off
async def test_next_brings_the_user_back_and_never_leaves_the_site(new_context, server, javascript):
    create_user(server)
    page, _ = await open_page(new_context, javascript)
    await page.goto("/accounts/login?next=/accounts/logout")
    await log_in(page, password="a wrong one first")
    await expect(page.get_by_text("Invalid email or password.")).to_be_visible()
    await log_in(page)  # `next` survives the failed attempt
    await expect(page.get_by_role("heading", name="Log out")).to_be_visible()
    await expect(page).to_have_url(url("/accounts/logout"))

    await page.get_by_role("main").get_by_role("button", name="Log out").click()
    await expect(page.get_by_text("You are not logged in")).to_be_visible()
    await page.goto("/accounts/login?next=//evil.example/")
    await log_in(page)
    await expect(page.get_by_role("heading", name=GREETING)).to_be_visible()
    await expect(page).to_have_url(url("/"))
