"""One account guessed at from many addresses: the account-wide failed-login limit, and the device cookies (OWASP's
scheme, hxauth.devices) that keep its owner's browsers out of that limit, each held to a limit of its own."""

import asyncio
import json
import re

import httpx
import pytest

from conftest import (
    CSRF_FIELD, HX, PASSWORD, create_user, link_sent, log_in, make_client, make_settings, running_server, submit,
)
from hxauth.database import open_database
from hxauth.settings import ConfigError

NEW_PASSWORD = "a brand new passphrase for ann"
LOCKED = "Too many failed attempts."


def address(number: int) -> tuple[str, int]:
    """The number-th of many distinct client addresses (a botnet's)."""
    return (f"198.51.{100 + number // 250}.{1 + number % 250}", 40000)


async def guesses_from_many_addresses(app, count: int, email="ann@example.com", first=0) -> list[int]:
    """A wrong password for `email` from each of `count` new browsers, each from its own address."""
    statuses = []
    for number in range(first, first + count):
        async with make_client(app, client=address(number)) as guesser:
            statuses.append((await log_in(guesser, email=email, password="wrong password here")).status_code)
    return statuses


async def log_out(client):
    return await submit(client, "/accounts/logout")


async def account_wide_hits(db) -> int:
    return await db.fetch_val("SELECT count(*) FROM rate_limit_hits WHERE bucket LIKE 'login-account:%'")


def audit_events(log_text: str) -> list[dict]:
    return [json.loads(line.split(" hxauth.audit ", 1)[1]) for line in log_text.splitlines() if " hxauth.audit " in line]


# Over real uvicorn: the botnet's addresses come from a trusted proxy's X-Forwarded-For.


async def post_login(client, token, forwarded_for=None, password="wrong password here", email="ann@example.com"):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    data = {"csrf_token": token, "email": email, "password": password}
    return await client.post("/accounts/login", data=data, headers=headers)


async def browser_token(client) -> str:
    return CSRF_FIELD.search((await client.get("/accounts/login")).text).group(1)


async def test_120_failures_from_distinct_addresses_end_in_429s_but_the_owners_browser_still_logs_in(tmp_path):
    window = 600  # LOGIN_ACCOUNT_WIDE_WINDOW: the hits are moved back by this much below, rather than waited for
    with running_server(tmp_path, trusted_proxies="127.0.0.1", login_account_wide_window=window) as server:
        await create_user(server)
        async with httpx.AsyncClient(base_url=server, timeout=30) as owner, httpx.AsyncClient(base_url=server, timeout=30) as botnet:
            assert (await post_login(owner, await browser_token(owner), password=PASSWORD)).status_code == 303
            assert "device" in owner.cookies
            token = CSRF_FIELD.search((await owner.get("/accounts/logout")).text).group(1)
            assert (await owner.post("/accounts/logout", data={"csrf_token": token})).status_code == 303

            token = await browser_token(botnet)
            responses = [await post_login(botnet, token, address(n)[0]) for n in range(120)]
            statuses = [response.status_code for response in responses]
            assert statuses == [422] * 20 + [429] * 100  # LOGIN_ACCOUNT_WIDE_LIMIT's default, 20
            assert all(int(r.headers["retry-after"]) >= 1 and LOCKED in r.text for r in responses[20:])

            # The owner's browser carries its device cookie: held to its own limit, not the account's.
            assert (await post_login(owner, await browser_token(owner), password=PASSWORD)).status_code == 303
            # A new browser of the owner's is one more stranger: limited like the botnet, whatever the address.
            async with httpx.AsyncClient(base_url=server, timeout=30) as fresh:
                refused = await post_login(fresh, await browser_token(fresh), "192.0.2.77", password=PASSWORD)
                assert refused.status_code == 429 and LOCKED in refused.text
                async with open_database(server.database_url) as db:
                    # 20 hits: the refused attempts were taken back (waiting out the window is enough)...
                    assert await account_wide_hits(db) == 20
                    await db.execute("UPDATE rate_limit_hits SET hit_at = hit_at - :window", {"window": window})
                # ...and once the window has passed the new browser gets in too.
                assert (await post_login(fresh, await browser_token(fresh), "192.0.2.77", password=PASSWORD)).status_code == 303
        log = next(tmp_path.glob("server-*.log")).read_text()
    events = [event["event"] for event in audit_events(log)]
    # A failure is logged after its password was hashed, a lock-out refusal before any hashing: 20 hashes, no more.
    assert events.count("login.failure") == 20 and events.count("login.locked") == 101
    # The lock-out is logged once when it starts, with the account, so an operator sees the distributed attack.
    [started] = [event for event in audit_events(log) if event["event"] == "login.account_locked"]
    assert started["email"] == "ann@example.com"


# Real Argon2 work, so the guesses are still being verified while the others arrive.
SLOW_ARGON2 = {"argon2_time_cost": 2, "argon2_memory_kib": 16384}
ANY_SHARE = {"hash_per_client": 1000, "hash_queue_limit": 1000}


async def test_30_concurrent_guesses_from_distinct_addresses_get_at_most_the_account_wide_limit_of_tries(tmp_path):
    limit = 8
    with running_server(tmp_path, trusted_proxies="127.0.0.1", login_account_wide_limit=limit, **SLOW_ARGON2, **ANY_SHARE) as server:
        await create_user(server)
        browsers = [httpx.AsyncClient(base_url=server, timeout=60) for _ in range(30)]
        try:
            tokens = [await browser_token(browser) for browser in browsers]
            posts = [post_login(browser, token, address(n)[0]) for n, (browser, token) in enumerate(zip(browsers, tokens))]
            statuses = [response.status_code for response in await asyncio.gather(*posts)]
        finally:
            for browser in browsers:
                await browser.aclose()
        assert set(statuses) <= {422, 429} and statuses.count(422) <= limit  # counted first, then checked
        async with open_database(server.database_url) as db:
            assert await account_wide_hits(db) == statuses.count(422)
        # Exactly `limit` tries in all: the ones refused were not counted.
        async with httpx.AsyncClient(base_url=server, timeout=60) as late:
            token = await browser_token(late)
            for number in range(limit - statuses.count(422)):
                assert (await post_login(late, token, f"192.0.2.{number + 1}")).status_code == 422
            assert (await post_login(late, token, "192.0.2.200", password=PASSWORD)).status_code == 429


def set_cookies(response) -> dict[str, str]:
    return {value.split("=", 1)[0]: value for name, value in response.headers.multi_items() if name == "set-cookie"}


async def test_over_https_the_device_cookie_is_secure_with_the_host_prefix(tmp_path):
    with running_server(tmp_path, trusted_proxies="127.0.0.1") as server:
        await create_user(server)
        https = {"X-Forwarded-Proto": "https"}
        async with httpx.AsyncClient(base_url=server, timeout=30, headers=https) as client:
            page = await client.get("/accounts/login")
            # httpx keeps a Secure cookie off plain http: carry the session cookie by hand, as the browser would.
            session = re.match(r"__Host-session=([^;]*)", set_cookies(page)["__Host-session"]).group(1)
            data = {"csrf_token": CSRF_FIELD.search(page.text).group(1), "email": "ann@example.com", "password": PASSWORD}
            response = await client.post("/accounts/login", data=data, headers={"Cookie": f"__Host-session={session}"})
        assert response.status_code == 303
        cookie = set_cookies(response)["__Host-device"].lower()
        assert "; secure" in cookie and "; httponly" in cookie and "; path=/" in cookie and "domain=" not in cookie
        assert "device" not in set_cookies(response)


async def test_over_http_the_device_cookie_is_httponly_samesite_lax_and_lasts_a_year(client, user, app):
    response = await log_in(client)
    cookie = set_cookies(response)["device"]
    assert f"Max-Age={app.state.settings.device_cookie_max_age};" in cookie and app.state.settings.device_cookie_max_age == 365 * 24 * 3600
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "path=/" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain HTTP in development: a Secure cookie would be dropped
    # It names the account and a random device, signed; no email, no password hash in it.
    assert client.cookies["device"].startswith(f"{user['id']}:") and "ann" not in client.cookies["device"]


# In-process: distinct client addresses from the ASGI client.


async def test_the_owners_browser_logs_in_through_an_account_wide_lock_out_and_logout_keeps_its_cookie(make_app):
    app = await make_app(login_account_wide_limit=3)
    await create_user(app)
    async with make_client(app) as owner:
        assert (await log_in(owner)).status_code == 303
        device = owner.cookies["device"]
        logout = await log_out(owner)
        assert "device" not in set_cookies(logout) and owner.cookies["device"] == device  # not the session
        assert await guesses_from_many_addresses(app, 5) == [422, 422, 422, 429, 429]
        assert (await log_in(owner)).status_code == 303
        assert owner.cookies["device"] != device  # each login gives the browser a new device token


async def test_a_device_failing_past_its_limit_is_locked_while_the_owners_other_device_logs_in(make_app, caplog):
    caplog.set_level("INFO", logger="hxauth.audit")
    app = await make_app(login_device_limit=3, login_account_wide_limit=2)
    await create_user(app)
    async with make_client(app) as laptop, make_client(app) as phone:
        for browser in (laptop, phone):
            assert (await log_in(browser)).status_code == 303
            await log_out(browser)
        # More than the account-wide limit: a device's failures count against that device only...
        assert [(await log_in(laptop, password="wrong password here")).status_code for _ in range(3)] == [422] * 3
        for _ in range(2):
            locked = await log_in(laptop)
            assert locked.status_code == 429 and LOCKED in locked.text and int(locked.headers["retry-after"]) >= 1
        assert (await log_in(phone)).status_code == 303
    # ...so they lock no one else out: not the account for a new browser either.
    async with make_client(app, client=address(1)) as fresh:
        assert (await log_in(fresh)).status_code == 303
    assert await account_wide_hits(app.state.db) == 0
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "hxauth.audit"]
    [started] = [event for event in events if event["event"] == "login.device_locked"]  # once, when it started
    assert started["email"] == "ann@example.com"
    assert not [event for event in events if event["event"] == "login.account_locked"]


async def test_a_forged_tampered_or_other_accounts_cookie_is_no_device_cookie(make_app):
    app = await make_app(login_account_wide_limit=2)
    await create_user(app)
    bob_id = await create_user(app, name="Bob", email="bob@example.com")
    async with make_client(app) as ann, make_client(app) as bob:
        await log_in(ann)
        await log_in(bob, email="bob@example.com")
        ann_cookie, bob_cookie = ann.cookies["device"], bob.cookies["device"]
    assert await guesses_from_many_addresses(app, 3) == [422, 422, 429]
    user_id, rest = ann_cookie.split(":", 1)
    nonce, timestamp, signature = rest.split(".")
    # The first character: a base64 string's last one may carry only padding bits, so changing it can decode
    # to the same bytes (a "tampered" signature that was still valid failed this test once in CI).
    flip = lambda text: ("A" if text[0] != "A" else "B") + text[1:]  # noqa: E731
    presented = [
        "garbage",
        bob_cookie,  # valid, for another account
        f"{bob_id}:{rest}",  # Ann's token, claiming Bob's id
        f"{user_id}:{flip(nonce)}.{timestamp}.{signature}",  # another nonce under Ann's signature
        f"{user_id}:{nonce}.{timestamp}.{flip(signature)}",
        f"{user_id}:{nonce}.{flip(timestamp)}.{signature}",
        f"{user_id}:{nonce}",  # unsigned
    ]
    for number, cookie in enumerate(presented):
        async with make_client(app, client=address(50 + number)) as browser:
            browser.cookies.set("device", cookie)
            response = await log_in(browser)
            assert response.status_code == 429 and LOCKED in response.text, cookie
    async with make_client(app, client=address(60)) as browser:
        browser.cookies.set("device", ann_cookie)
        assert (await log_in(browser)).status_code == 303


async def test_one_browser_keeps_a_device_cookie_per_account_it_logged_in_to(make_app):
    app = await make_app(login_account_wide_limit=1)
    await create_user(app)
    await create_user(app, name="Bob", email="bob@example.com")
    async with make_client(app) as shared:
        for email in ("ann@example.com", "bob@example.com"):
            assert (await log_in(shared, email=email)).status_code == 303
            await log_out(shared)
        for email in ("ann@example.com", "bob@example.com"):
            assert await guesses_from_many_addresses(app, 2, email=email) == [422, 429]
        for email in ("ann@example.com", "bob@example.com"):
            assert (await log_in(shared, email=email)).status_code == 303
            await log_out(shared)


async def change_password(client, current=PASSWORD, new=NEW_PASSWORD):
    data = {"current_password": current, "new_password": new}
    return await submit(client, "/accounts/settings", data, action="/accounts/settings/password")


async def test_a_password_change_kills_every_device_cookie_of_the_account(make_app):
    app = await make_app(login_account_wide_limit=2)
    await create_user(app)
    async with make_client(app) as laptop, make_client(app) as phone:
        await log_in(laptop)
        await log_out(laptop)
        await log_in(phone)
        assert (await change_password(phone)).status_code == 303
        await log_out(phone)
        assert await guesses_from_many_addresses(app, 3) == [422, 422, 429]
        # The laptop's cookie was bound to the old password: the laptop is a stranger now.
        assert (await log_in(laptop, password=NEW_PASSWORD)).status_code == 429
        # The browser that changed it proved both passwords, and got a new cookie for the new one.
        assert (await log_in(phone, password=NEW_PASSWORD)).status_code == 303


async def test_a_password_reset_kills_every_device_cookie_of_the_account(make_app):
    app = await make_app(login_account_wide_limit=2)
    await create_user(app)
    async with make_client(app) as laptop:
        await log_in(laptop)
        await log_out(laptop)
        async with make_client(app, client=address(99)) as anywhere:
            assert (await submit(anywhere, "/accounts/reset-password", {"email": "ann@example.com"})).status_code == 200
            link = await link_sent(app, "ann@example.com", "reset")
            assert (await submit(anywhere, link, {"password": NEW_PASSWORD})).status_code == 303
        assert await guesses_from_many_addresses(app, 3) == [422, 422, 429]
        assert (await log_in(laptop, password=NEW_PASSWORD)).status_code == 429


async def test_a_settings_password_check_without_a_device_cookie_shares_the_account_wide_limit(make_app):
    app = await make_app(login_account_wide_limit=2)
    await create_user(app)
    async with make_client(app) as browser:
        await log_in(browser)
        assert await guesses_from_many_addresses(app, 3) == [422, 422, 429]
        # With its device cookie, the current password is checked as this device's login attempt...
        response = await change_password(browser)
        assert response.status_code == 303
        # ...without one, as a stranger's: the account is locked out.
        browser.cookies.delete("device")
        data = {"email": "ann.new@example.com", "current_password": NEW_PASSWORD}
        response = await submit(browser, "/accounts/settings", data, action="/accounts/settings/email", headers=HX)
        assert response.status_code == 429 and "Too many wrong passwords" in response.text


async def test_an_account_that_does_not_exist_is_locked_out_the_same(make_app):
    """The limit is keyed by the email: a missing account answers exactly like a real one."""
    app = await make_app(login_account_wide_limit=2)
    await create_user(app)
    for email in ("ann@example.com", "nobody@example.com"):
        assert await guesses_from_many_addresses(app, 3, email=email) == [422, 422, 429]


@pytest.mark.parametrize("limit", [0, 101])
def test_the_account_wide_limit_stays_within_nists_100(tmp_path, limit):
    with pytest.raises(ConfigError, match="LOGIN_ACCOUNT_WIDE_LIMIT"):
        make_settings(tmp_path, login_account_wide_limit=limit)
