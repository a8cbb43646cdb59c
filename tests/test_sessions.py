"""Sessions: the cookie holds only a token, the server holds its hash, and both ends can end it."""

import asyncio
import base64
import hashlib
import json
import time

from itsdangerous import TimestampSigner

from conftest import HX, count, create_user, csrf_token, log_in, make_client, submit
from hxauth.middleware import cookie_signer


def set_cookie(response, name: str) -> str:
    """The response's Set-Cookie for `name` (a login sets the device cookie too: hxauth.devices)."""
    return next(value for key, value in response.headers.multi_items() if key == "set-cookie" and value.startswith(name + "="))


def cookie_payload(client) -> dict:
    value = client.cookies["session"]
    return json.loads(base64.b64decode(value.split(".")[0]))


async def test_the_cookie_carries_only_a_random_token_whose_hash_the_server_stores(logged_in, app):
    payload = cookie_payload(logged_in)
    assert list(payload) == ["token"]
    stored = await app.state.db.fetch_val("SELECT token_hash FROM sessions")
    assert stored == hashlib.sha256(payload["token"].encode()).hexdigest()
    assert payload["token"] not in stored


async def test_login_issues_a_new_token_so_a_planted_one_is_useless(client, user):
    await csrf_token(client)  # the anonymous visit gets a token, for the form's CSRF token
    before = cookie_payload(client)["anonymous"]
    await log_in(client)
    assert list(cookie_payload(client)) == ["token"]
    assert cookie_payload(client)["token"] != before


async def test_an_anonymous_visitor_s_token_is_never_looked_up(client, app, monkeypatch):
    """Anonymous pages cost no query, even once the visitor holds a token for a form's CSRF token."""
    await csrf_token(client)
    assert list(cookie_payload(client)) == ["anonymous"]

    def no_query(*args, **kwargs):  # raises when called, for the async query methods and the context managers alike
        raise AssertionError("an anonymous page ran a query")

    for method in ("fetch_one", "fetch_all", "fetch_val", "execute", "execute_many", "iterate", "connection", "transaction"):
        monkeypatch.setattr(app.state.db, method, no_query)
    response = await client.get("/")
    assert response.status_code == 200 and "You are not logged in" in response.text


async def test_a_replayed_cookie_is_anonymous_after_logout(logged_in, app):
    stolen = logged_in.cookies["session"]
    await submit(logged_in, "/accounts/logout")
    async with make_client(app) as attacker:
        attacker.cookies.set("session", stolen)
        assert "You are not logged in" in (await attacker.get("/")).text


async def test_logout_empties_the_cookie_and_the_next_form_still_works(logged_in, user):
    response = await submit(logged_in, "/accounts/logout")
    assert "session=null" in response.headers["set-cookie"] and "expires=thu, 01 jan 1970" in response.headers["set-cookie"].lower()
    assert "session" not in logged_in.cookies
    await log_in(logged_in)  # a new anonymous token for the login form, then a new login token
    assert "Hi Ann!" in (await logged_in.get("/")).text


async def test_a_forged_cookie_is_anonymous(client, user):
    forged = base64.b64encode(json.dumps({"token": "x" * 43}).encode()).decode()
    client.cookies.set("session", forged + ".AAAA.BBBB")
    assert "You are not logged in" in (await client.get("/")).text


async def test_a_live_token_signed_with_another_key_or_another_algorithm_is_anonymous(logged_in, settings):
    """The cookie's signature (keyed BLAKE2b under a key derived from SECRET_KEY) is what lets it in."""
    payload = logged_in.cookies["session"].split(".")[0].encode()  # a live session's token
    for signer in (cookie_signer("another-" + "k" * 40), TimestampSigner(settings.secret_key)):  # Starlette's default
        logged_in.cookies.set("session", signer.sign(payload).decode())
        assert "You are not logged in" in (await logged_in.get("/")).text
    logged_in.cookies.set("session", cookie_signer(settings.secret_key).sign(payload).decode())
    assert "Hi Ann!" in (await logged_in.get("/")).text


async def test_the_cookie_is_httponly_and_samesite_lax(client, user):
    response = await log_in(client)
    cookie = set_cookie(response, "session").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain HTTP in development: a Secure cookie would be dropped


async def test_over_https_the_cookie_is_secure_with_the_host_prefix(app, user):
    async with make_client(app, base_url="https://testserver") as client:
        response = await log_in(client)
        cookie = set_cookie(response, "__Host-session")
        assert cookie.startswith("__Host-session=")
        assert "secure" in cookie.lower() and "path=/" in cookie
        assert "Hi Ann!" in (await client.get("/")).text
        assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_sessions_end_after_the_absolute_lifetime(app, logged_in):
    await app.state.db.execute("UPDATE sessions SET created_at = created_at - :age", {"age": app.state.settings.session_max_seconds + 1})
    assert "You are not logged in" in (await logged_in.get("/")).text


async def test_sessions_end_after_being_idle_and_activity_keeps_them_alive(make_app):
    app = await make_app(session_idle_seconds=600)
    await create_user(app)
    async with make_client(app) as client:
        await log_in(client)
        # Used 5 minutes ago: still alive, and the visit resets the idle clock.
        await app.state.db.execute("UPDATE sessions SET last_seen_at = :t", {"t": int(time.time()) - 300})
        assert "Hi Ann!" in (await client.get("/")).text
        assert await app.state.db.fetch_val("SELECT last_seen_at FROM sessions") >= int(time.time()) - 5
        await app.state.db.execute("UPDATE sessions SET last_seen_at = :t", {"t": int(time.time()) - 601})
        assert "You are not logged in" in (await client.get("/")).text


async def test_logging_in_twice_in_two_browsers_gives_two_sessions_and_logout_ends_one(app, user):
    async with make_client(app) as first, make_client(app) as second:
        await log_in(first)
        await log_in(second)
        assert await count(app, "SELECT count(*) FROM sessions") == 2
        await submit(first, "/accounts/logout")
        assert "Hi Ann!" in (await second.get("/")).text
        assert "You are not logged in" in (await first.get("/")).text


async def test_concurrent_requests_each_see_their_own_user(app):
    names = [f"User{i}" for i in range(8)]
    clients = []
    for name in names:
        await create_user(app, name=name, email=f"{name.lower()}@example.com")
        client = make_client(app)
        await log_in(client, email=f"{name.lower()}@example.com")
        clients.append(client)
    pages = await asyncio.gather(*[client.get("/", headers=HX) for client in clients * 3])
    for page, name in zip(pages, names * 3):
        assert f"Hi {name}!" in page.text
    for client in clients:
        await client.aclose()
