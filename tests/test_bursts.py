"""One burst beats no limit: every limit counts an attempt before it judges it (hxauth.rate_limits.attempt).

For each way in with a limit of its own (test_rate_limits.py and test_devices.py have the logins and signups):
password-reset requests per address and per client, confirmation links sent again, changes of email, the
current password in Settings, and the login's second-factor codes. Each sends BURST requests at the same
moment over real uvicorn, each from its own connection, and finds at most the limit let through (and mailed);
then that the refused ones were not counted: exactly the rest of the limit gets through afterwards, and no more.
Were an attempt checked first and counted after, the requests of a burst would all see the same count and pass.
"""

import asyncio
import contextlib
import re
import time

import httpx
import pyotp
import pytest

from conftest import CSRF_FIELD, HX, PASSWORD, create_user, running_server
from hxauth.database import open_database

BURST = 40
# The bursts are to reach the limits themselves, not the share of hashing one client may hold (test_fair_hashing.py).
ANY_SHARE = {"hash_per_client": 1000, "hash_queue_limit": 1000}
# A real Argon2 cost, so that wrong passwords are still being verified while the others arrive.
SLOW_ARGON2 = {"argon2_time_cost": 2, "argon2_memory_kib": 16384}
RESET, CONFIRM, SETTINGS, CODE = "/accounts/reset-password", "/accounts/confirm", "/accounts/settings", "/accounts/login/code"
NEW_PASSWORD = "a brand new passphrase for ann"
SECRET = re.compile(r'id="two-factor-secret">([A-Z2-7 ]+)<')


@contextlib.asynccontextmanager
async def browsers(server, count: int):
    """`count` browsers of their own (cookies, connections) on the server."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(httpx.AsyncClient(base_url=server, timeout=60)) for _ in range(count)]


async def token_on(browser, page: str) -> str:
    """The CSRF token in the page's forms (the session's: the same in every form)."""
    return CSRF_FIELD.search((await browser.get(page)).text).group(1)


async def at_once(posts) -> list[httpx.Response]:
    """Send every prepared post at the same moment."""
    return await asyncio.gather(*posts)


async def connected(browser, page: str) -> str:
    """One browser's BURST connections opened beforehand (as BURST browsers would have theirs), so that its
    posts arrive together rather than each behind its own connect; the page's CSRF token."""
    pages = await at_once([browser.get(page) for _ in range(BURST)])
    return CSRF_FIELD.search(pages[0].text).group(1)


async def log_in(browser, email="ann@example.com", password=PASSWORD, headers=None) -> httpx.Response:
    token = await token_on(browser, "/accounts/login")
    return await browser.post("/accounts/login", data={"csrf_token": token, "email": email, "password": password}, headers=headers)


async def value(server, sql: str, values: dict | None = None):
    async with open_database(server.database_url) as db:
        return await db.fetch_val(sql, values or {})


async def mails(server, subject: str, recipient: str = "%") -> int:
    """Messages queued with this subject to addresses LIKE `recipient`."""
    sql = "SELECT count(*) FROM outbox WHERE subject = :subject AND recipient LIKE :recipient"
    return await value(server, sql, {"subject": subject, "recipient": recipient})


async def let_the_windows_pass(server) -> None:
    """Every hit counted so far is older than any window (the longest default is an hour)."""
    async with open_database(server.database_url) as db:
        await db.execute("UPDATE rate_limit_hits SET hit_at = hit_at - 3600")


def page_text(response: httpx.Response, *blanked: str) -> str:
    """The answer with its CSRF tokens (each browser has its own) and `blanked` strings left out."""
    text = CSRF_FIELD.sub('name="csrf_token" value=""', response.text)
    for string in blanked:
        text = text.replace(string, "")
    return text


def judged(statuses: list[int], allowed: int, refused: int = 429, *, limit: int) -> int:
    """How many of a burst were let through; each of the others got `refused`, and none a 5xx."""
    assert set(statuses) <= {allowed, refused}, statuses
    assert statuses.count(allowed) <= limit, f"{statuses.count(allowed)} of {len(statuses)} got through a limit of {limit}"
    return statuses.count(allowed)


# Password-reset requests.


async def ask_for_resets(browser_emails, headers=HX) -> list[httpx.Response]:
    """Each (browser, email): the reset form's post, all at once."""
    tokens = [await token_on(browser, RESET) for browser, _ in browser_emails]
    posts = [browser.post(RESET, data={"csrf_token": token, "email": email}, headers=headers) for (browser, email), token in zip(browser_emails, tokens)]
    return await at_once(posts)


async def test_a_burst_of_reset_requests_for_one_address_mails_at_most_the_limit_and_tells_nobody_who_has_an_account(tmp_path):
    limit = 3
    with running_server(tmp_path, reset_email_limit=limit, reset_client_limit=1000) as server:
        await create_user(server)
        answers = {}
        for email in ("ann@example.com", "nobody@example.com"):
            async with browsers(server, BURST) as group:
                responses = await ask_for_resets([(browser, email) for browser in group])
                through = judged([r.status_code for r in responses], 200, limit=limit)
                # The refused ones were not counted: exactly the rest of the limit gets through, then no more.
                for _ in range(limit - through):
                    responses += await ask_for_resets([(group[0], email)])
                responses += await ask_for_resets([(group[0], email)])
            assert [r.status_code for r in responses].count(200) == limit and responses[-1].status_code == 429
            assert all(1 <= int(r.headers["retry-after"]) <= 3600 for r in responses if r.status_code == 429)
            texts = {(r.status_code, page_text(r, email)) for r in responses}
            assert len(texts) == 2  # one answer for every request let through, one for every request refused
            answers[email] = texts
        assert answers["ann@example.com"] == answers["nobody@example.com"]
        assert await mails(server, "Reset your hxauth password", "ann@example.com") == limit
        assert await mails(server, "Reset your hxauth password") == limit  # none to the address without an account


async def test_a_burst_of_reset_requests_from_one_client_mails_at_most_the_client_limit(tmp_path):
    limit = 4
    with running_server(tmp_path, reset_client_limit=limit, reset_email_limit=1000) as server:
        emails = [f"user{number}@example.com" for number in range(BURST + limit)]
        accounts = set(emails[::2])  # every other address has an account
        for email in accounts:
            await create_user(server, email=email)
        async with browsers(server, BURST) as group:
            responses = await ask_for_resets(list(zip(group, emails)))
            through = judged([r.status_code for r in responses], 200, limit=limit)
            for email in emails[BURST:BURST + limit - through]:
                assert (await ask_for_resets([(group[0], email)]))[0].status_code == 200
            assert (await ask_for_resets([(group[0], emails[-1])]))[0].status_code == 429
        asked = [email for email, response in zip(emails, responses) if response.status_code == 200]
        asked += emails[BURST:BURST + limit - through]
        assert await mails(server, "Reset your hxauth password") == len(accounts.intersection(asked))


# Confirmation links sent again.


async def test_a_burst_of_send_the_link_again_mails_at_most_the_limit(tmp_path):
    limit = 3
    with running_server(tmp_path, confirm_resend_limit=limit, confirm_client_limit=1000) as server:
        await create_user(server)  # unconfirmed; signup's own link is in the outbox
        async with browsers(server, BURST) as group:
            for browser in group:
                assert (await log_in(browser)).status_code == 303
            tokens = [await token_on(browser, "/") for browser in group]
            responses = await at_once([browser.post(CONFIRM, data={"csrf_token": token}, headers=HX) for browser, token in zip(group, tokens)])
            through = judged([r.status_code for r in responses], 200, limit=limit)
            for _ in range(limit - through):
                assert (await group[0].post(CONFIRM, data={"csrf_token": tokens[0]}, headers=HX)).status_code == 200
            late = await group[0].post(CONFIRM, data={"csrf_token": tokens[0]}, headers=HX)
            assert late.status_code == 429 and int(late.headers["retry-after"]) > 0
        assert await mails(server, "Confirm your email address for hxauth") == 1 + limit


# Changes of email in Settings.


async def test_a_burst_of_email_changes_mails_at_most_the_limit_of_links(tmp_path):
    limit = 5  # EMAIL_CHANGE_LIMIT
    # The current password is right every time: its check (a login attempt) is not what this burst is to reach.
    with running_server(tmp_path, login_device_limit=1000, login_account_limit=1000, **ANY_SHARE) as server:
        await create_user(server)
        async with browsers(server, 1) as [ann]:
            assert (await log_in(ann)).status_code == 303
            token = await connected(ann, SETTINGS)

            def ask(number):
                data = {"csrf_token": token, "email": f"new{number}@example.com", "current_password": PASSWORD}
                return ann.post(SETTINGS + "/email", data=data, headers=HX)

            responses = await at_once([ask(number) for number in range(BURST)])
            through = judged([r.status_code for r in responses], 200, limit=limit)
            for number in range(BURST, BURST + limit - through):
                assert (await ask(number)).status_code == 200
            late = await ask(BURST + limit)
            assert late.status_code == 429 and "too many changes of email" in late.text
        assert await mails(server, "Confirm your new email address for hxauth", "new%") == limit
        assert await mails(server, "Your hxauth email address is being changed", "ann@example.com") == limit
        assert await value(server, "SELECT count(*) FROM email_changes") == 1  # a newer request replaces an older one


# The current password in Settings: a login attempt.


@pytest.mark.parametrize("device_cookie", [True, False], ids=["with-device-cookie", "without-device-cookie"])
async def test_a_burst_of_wrong_current_passwords_gets_at_most_the_limit_of_tries_then_even_the_right_one_waits(tmp_path, device_cookie):
    """The browser's device cookie holds it to the device's limit (hxauth.devices); without one, the account's
    limit from this client applies."""
    limit = 4
    limits = {"login_device_limit": limit} if device_cookie else {"login_account_limit": limit}
    with running_server(tmp_path, **limits, **SLOW_ARGON2, **ANY_SHARE) as server:
        await create_user(server)
        async with browsers(server, 1) as [ann]:
            assert (await log_in(ann)).status_code == 303
            assert "device" in ann.cookies
            if not device_cookie:
                ann.cookies.delete("device")
            token = await connected(ann, SETTINGS)

            def change(current_password):
                data = {"csrf_token": token, "current_password": current_password, "new_password": NEW_PASSWORD}
                return ann.post(SETTINGS + "/password", data=data, headers=HX)

            responses = await at_once([change(f"wrong guess number {number}") for number in range(BURST)])
            tried = judged([r.status_code for r in responses], 422, limit=limit)
            assert all("That is not your current password." in r.text for r in responses if r.status_code == 422)
            assert all("Too many wrong passwords" in r.text for r in responses if r.status_code == 429)
            for _ in range(limit - tried):
                assert (await change("one more wrong guess")).status_code == 422
            refused = await change(PASSWORD)
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
            assert "Too many wrong passwords" in refused.text
            assert await value(server, "SELECT count(*) FROM outbox WHERE subject LIKE '%password was changed'") == 0
            await let_the_windows_pass(server)
            changed = await change(PASSWORD)
            assert changed.status_code == 200 and changed.headers["hx-location"] == SETTINGS


# The login's second step: codes from the app, per account from any client.


def code_at(secret: str, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time(), counter_offset=steps)


def wrong_code(secret: str) -> str:
    """A code no step near now has (accepted ones are one step either way)."""
    near = {code_at(secret, steps) for steps in range(-3, 4)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in near)


async def turn_on_two_factor(server) -> str:
    """Ann turns TOTP on in Settings, as she would; its secret."""
    async with browsers(server, 1) as [ann]:
        assert (await log_in(ann)).status_code == 303
        token = await token_on(ann, SETTINGS)
        assert (await ann.post(SETTINGS + "/two-factor/start", data={"csrf_token": token})).status_code == 303
        secret = SECRET.search((await ann.get(SETTINGS)).text).group(1).replace(" ", "")
        enabled = await ann.post(SETTINGS + "/two-factor/enable", data={"csrf_token": token, "code": code_at(secret)})
        assert enabled.status_code == 200 and "Two-factor authentication is on" in enabled.text
        assert (await ann.post("/accounts/logout", data={"csrf_token": token})).status_code == 303
    return secret


async def test_a_burst_of_wrong_codes_from_many_addresses_gets_at_most_the_account_limit_then_even_the_right_code_waits(tmp_path):
    limit = 3
    settings = {"trusted_proxies": "127.0.0.1", "two_factor_account_limit": limit, "two_factor_client_limit": 1000}
    with running_server(tmp_path, **settings) as server:
        await create_user(server)
        secret = await turn_on_two_factor(server)
        async with browsers(server, BURST) as group:
            tokens = []
            for number, browser in enumerate(group):  # each its own address, its password right: a login waits for its code
                browser.headers["X-Forwarded-For"] = f"198.51.100.{number + 1}"
                login = await log_in(browser)
                assert login.status_code == 303 and login.headers["location"] == CODE
                tokens.append(await token_on(browser, CODE))

            def post_code(number, code):
                return group[number].post(CODE, data={"csrf_token": tokens[number], "code": code}, headers=HX)

            responses = await at_once([post_code(number, wrong_code(secret)) for number in range(BURST)])
            tried = judged([r.status_code for r in responses], 422, limit=limit)
            assert all("Too many wrong codes" in r.text and int(r.headers["retry-after"]) > 0 for r in responses if r.status_code == 429)
            for _ in range(limit - tried):
                assert (await post_code(0, wrong_code(secret))).status_code == 422
            refused = await post_code(1, code_at(secret, 1))
            assert refused.status_code == 429 and "Too many wrong codes" in refused.text
            assert await value(server, "SELECT count(*) FROM sessions") == 0
            await let_the_windows_pass(server)
            accepted = await post_code(1, code_at(secret, 1))
            assert accepted.status_code == 200 and accepted.headers["hx-location"] == "/"
            assert await value(server, "SELECT count(*) FROM sessions") == 1
