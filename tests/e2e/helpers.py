"""What a person does in a browser, as small steps the tests share."""

import asyncio
import concurrent.futures
import re

from conftest import PASSWORD, create_user as make_user  # tests/conftest.py

try:
    from playwright.async_api import expect
except ImportError:  # the `browser` fixture then skips each test (fails it in CI)
    expect = None

NAME, EMAIL = "Ada Lovelace", "ada@example.com"
# An init script that makes a browser without passkey autofill (conditional mediation): under automation
# Chromium answers the autofill's request at once with the virtual authenticator's passkey.
NO_AUTOFILL = "if (window.PublicKeyCredential) delete PublicKeyCredential.isConditionalMediationAvailable;"


def create_user(server, name: str = NAME, email: str = EMAIL, password: str = PASSWORD) -> None:
    """An account made through hxauth.accounts on the server's database (tests/conftest.py's create_user), not
    through the signup form, which the flows test on their own. On an event loop of its own, in a thread, so that
    the tests can call it without awaiting."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(lambda: asyncio.run(make_user(server, name, email, password))).result()


async def mark_window(page) -> None:
    """Put a marker on `window`: it survives htmx swaps and dies with a full page load."""
    await page.evaluate("window.hxauthMarker = 'still here'")


async def window_marker(page):
    return await page.evaluate("window.hxauthMarker ?? null")


async def log_in(page, email: str = EMAIL, password: str = PASSWORD) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in", exact=True).click()


async def sign_up(page, name: str, email: str, password: str) -> None:
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Create account").click()


async def focused(page) -> str:
    """The focused element, as `tag#id`, or `tag:text` for links and buttons without an id."""
    return await page.evaluate(
        """() => { const el = document.activeElement;
                   if (!el || el === document.body) return 'body';
                   const tag = el.tagName.toLowerCase();
                   return el.id ? `${tag}#${el.id}` : `${tag}:${el.textContent.trim()}`; }"""
    )


async def assert_focus(page, target: str, timeout: float = 2.0) -> None:
    """`target` (as `focused` spells it) gets the focus: htmx and app.js move it just after a swap."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (now := await focused(page)) != target:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the focus is on {now}, not on {target}")
        await asyncio.sleep(0.05)


async def has_focus_ring(page) -> bool:
    """The focused element is drawn with a visible outline (what a keyboard user follows)."""
    return await page.evaluate(
        """() => { const style = getComputedStyle(document.activeElement);
                   return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2; }"""
    )


async def tab_to(page, target: str, limit: int = 25) -> None:
    """Press Tab until `target` (as `focused` spells it) has the focus, as a keyboard user would.

    Every element on the way must show a focus ring."""
    seen = []
    for _ in range(limit):
        await page.keyboard.press("Tab")
        seen.append(await focused(page))
        if seen[-1] == "body" and len(seen) > 1:
            continue  # past the page's last control the focus goes to the browser's own UI, then to the top again
        assert await has_focus_ring(page), f"{seen[-1]} has the focus but no visible focus ring"
        if seen[-1] == target:
            return
    raise AssertionError(f"Tab never reached {target}; it went through {seen}")



async def link_from_mailbox(page, subject: str) -> str:
    """What a developer does in development: open /dev/mailbox, then the newest message with `subject`; the path
    of the message's link (BASE_URL is http://localhost:8000, the test server is elsewhere)."""
    await page.goto("/dev/mailbox")
    await page.get_by_role("link", name=subject).first.click()
    text = await page.locator("pre.mail-text").inner_text()
    found = re.search(r"http://localhost(?::\d+)?(/accounts/[A-Za-z0-9/_-]+)", text)  # BASE_URL, whatever its port
    assert found, f"no link in the message:\n{text}"
    return found.group(1)


async def virtual_authenticator(page):
    """A platform authenticator (ctap2, internal) holding discoverable credentials, verifying the user at once."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable", {"enableUI": False})
    options = {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True,
    }
    added = await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    return cdp, added["authenticatorId"]


async def start_two_factor(page) -> str:
    """On Settings, "Turn on" two-factor authentication; the key shown for typing into an app, as a person reads it."""
    await page.locator("#two-factor").get_by_role("button", name="Turn on").click()
    await expect(page.get_by_role("img", name="QR code that adds your hxauth account to an authenticator app")).to_be_visible()
    return (await page.locator("#two-factor-secret").inner_text()).replace(" ", "")
