"""Bad input gets a clear 4xx, faults get a 503, and neither shows a traceback."""

import pytest

from markupsafe import escape

from conftest import HX, PASSWORD, count, csrf_token, log_in, make_client, submit


async def test_an_unknown_page_is_a_404_page(client):
    response = await client.get("/nope")
    assert response.status_code == 404
    assert "Page not found" in response.text and response.text.startswith("<!DOCTYPE html>")
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


async def test_an_unknown_page_for_htmx_is_an_alert_fragment(client):
    response = await client.get("/nope", headers=HX)
    assert response.status_code == 404
    assert "<html" not in response.text and response.headers["hx-retarget"] == "#alerts"


async def test_a_route_s_own_http_error_message_is_shown(app, client):
    from starlette.exceptions import HTTPException
    from starlette.routing import Route

    async def someone_elses_note(request):
        raise HTTPException(403, "Only its author may edit this note.")

    app.router.routes.append(Route("/notes/1/edit", someone_elses_note))
    response = await client.get("/notes/1/edit")
    assert response.status_code == 403
    assert "Forbidden" in response.text and "Only its author may edit this note." in response.text


async def test_a_wrong_method_is_a_405_page(client):
    token = await csrf_token(client)
    response = await client.post("/", data={"csrf_token": token})
    assert response.status_code == 405
    assert "Method not allowed" in response.text


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/htmx/../../app.py"])
async def test_files_outside_the_static_folders_are_not_served(client, path):
    response = await client.get(path)
    assert response.status_code == 404
    assert "create_app" not in response.text


async def test_htmx_is_served_from_node_modules(client):
    response = await client.get("/static/htmx/htmx.min.js")
    assert response.status_code == 200
    assert "htmx" in response.text[:2000]


async def test_static_files_are_served_without_the_session(logged_in, app, monkeypatch):
    """Files are the same for everyone: no user lookup, no cookie, but every security header."""

    async def no_query(*args, **kwargs):
        raise AssertionError("a static file ran a query")

    monkeypatch.setattr(app.state.db, "fetch_one", no_query)
    for path in ("/static/app.css", "/static/htmx/htmx.min.js"):
        response = await logged_in.get(path)
        assert response.status_code == 200 and "set-cookie" not in response.headers
        assert response.headers["x-content-type-options"] == "nosniff" and "x-request-id" in response.headers
    assert "Hi Ann!" not in (await logged_in.get("/static/nope.css")).text  # a 404 there is anonymous too


async def test_a_body_over_64_kib_gets_413_before_it_is_read(client, app):
    token = await csrf_token(client)
    body = f"csrf_token={token}&name=Bob&email=bob%40example.com&password={'x' * 70_000}"
    response = await client.post("/accounts/signup", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


async def test_a_streamed_body_without_length_is_cut_at_64_kib(client):
    token = await csrf_token(client)

    async def chunks():
        yield f"csrf_token={token}&name=".encode()
        for _ in range(100):
            yield b"x" * 1024

    response = await client.post("/accounts/signup", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/json", '{"email": "a@b.co", "password": "x"}'),
        ("multipart/form-data; boundary=x", "--x--"),
        ("text/plain", "email=a@b.co"),
        (None, "email=a@b.co"),
    ],
)
async def test_anything_but_a_urlencoded_form_gets_415(client, content_type, body):
    token = await csrf_token(client)
    headers = {"X-CSRF-Token": token}
    if content_type:
        headers["Content-Type"] = content_type
    response = await client.post("/accounts/login", content=body, headers=headers)
    assert response.status_code == 415


async def test_invalid_utf8_gets_400(client, app):
    token = await csrf_token(client)
    body = f"csrf_token={token}&name=%FF%FE&email=bob%40example.com&password=".encode() + PASSWORD.encode()
    response = await client.post("/accounts/signup", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert await count(app, "SELECT count(*) FROM users") == 0


@pytest.mark.parametrize(
    "extra_fields, status, message",
    [(48, 400, "too many fields"), (47, 422, "Invalid email or password.")],  # with the 3 real ones: 51 and 50
)
async def test_a_form_may_have_50_fields_and_no_more(client, user, extra_fields, status, message):
    token = await csrf_token(client)
    body = f"csrf_token={token}&email=ann%40example.com&password=wrong+password" + "".join(f"&extra{i}=1" for i in range(extra_fields))
    response = await client.post("/accounts/login", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == status
    assert message in response.text


async def test_repeated_fields_are_not_a_500(client, app):
    token = await csrf_token(client)
    body = f"csrf_token={token}&email=a%40example.com&email=b%40example.com&password=x&password=y"
    response = await client.post("/accounts/login", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 422


@pytest.mark.parametrize(
    "value, a_valid_name",
    [
        ("' OR 1=1 --", True),
        ("bob@example.com'; DROP TABLE users; --", True),
        ("<img src=x onerror=alert(1)>", True),
        ("\x00", False),
        ("%00", True),
        ("🦄" * 50, True),
    ],
    ids=["or 1=1", "drop table", "img onerror", "nul", "percent-encoded nul", "emoji"],
)
async def test_sql_and_html_in_any_field_are_harmless(client, app, value, a_valid_name):
    as_name = await submit(client, "/accounts/signup", {"name": value, "email": "x@example.com", "password": PASSWORD})
    assert as_name.status_code == (303 if a_valid_name else 422)
    as_email = await submit(client, "/accounts/signup", {"name": "Bob", "email": value, "password": PASSWORD})
    assert as_email.status_code == 422
    assert f'value="{escape(value.lower())}"' in as_email.text  # kept in the form (lower-cased), as text
    assert (await log_in(client, email=value, password=value)).status_code == 422
    # The table is still there and holds exactly the valid signup.
    emails = [row[0] for row in await app.state.db.fetch_all("SELECT email FROM users")]
    assert emails == (["x@example.com"] if a_valid_name else [])
    if a_valid_name:
        assert (await log_in(client, email="x@example.com")).status_code == 303
        home = (await client.get("/")).text
        assert f"Hi {escape(value)}!" in home
        assert "<img src=x" not in home


async def test_an_unreachable_database_gets_a_503_page_not_a_traceback(app, logged_in, unreachable_database):
    app.state.db = unreachable_database
    response = await logged_in.get("/")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.text
    assert "Traceback" not in response.text and "OperationalError" not in response.text
    assert response.headers["retry-after"] == "5"
    assert response.headers["x-frame-options"] == "DENY"


async def test_an_unreachable_database_during_an_htmx_login_gets_an_alert(app, client, unreachable_database):
    token = await csrf_token(client)
    app.state.db = unreachable_database
    response = await client.post("/accounts/login", data={"csrf_token": token, "email": "a@example.com", "password": "x"}, headers=HX)
    assert response.status_code == 503
    assert "<html" not in response.text and response.headers["hx-retarget"] == "#alerts"


async def test_the_site_recovers_when_the_database_comes_back(app, logged_in, unreachable_database):
    working = app.state.db
    app.state.db = unreachable_database
    assert (await logged_in.get("/")).status_code == 503
    app.state.db = working
    assert "Hi Ann!" in (await logged_in.get("/")).text


def expect_every_header_over_https(response):
    """What ResponseHeaders gives every response, and the page's reference is the response's X-Request-ID."""
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["x-frame-options"] == "DENY" and response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert f"<code>{response.headers['x-request-id']}</code>" in response.text


async def test_a_database_fault_in_the_user_lookup_is_a_503_with_every_header_over_https(app, user, unreachable_database):
    from conftest import log_in

    async with make_client(app, base_url="https://testserver") as browser:
        assert (await log_in(browser)).status_code == 303
        app.state.db = unreachable_database
        response = await browser.get("/", headers={"X-Request-ID": "trace-12345678"})
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert response.headers["x-request-id"] == "trace-12345678"
    expect_every_header_over_https(response)


async def test_a_database_fault_in_a_form_post_is_a_503_with_every_header_over_https(app, unreachable_database):
    async with make_client(app, base_url="https://testserver") as browser:
        token = await csrf_token(browser)
        app.state.db = unreachable_database
        response = await browser.post("/accounts/login", data={"csrf_token": token, "email": "a@example.com", "password": "x"})
    assert response.status_code == 503 and "Temporarily unavailable" in response.text
    expect_every_header_over_https(response)


async def test_an_unexpected_error_is_a_500_with_every_header_over_https(app):
    async def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    app.state.hasher.verify_nobody = broken
    async with make_client(app, base_url="https://testserver") as browser:
        token = await csrf_token(browser)
        response = await browser.post("/accounts/login", data={"csrf_token": token, "email": "a@example.com", "password": "x"})
    assert response.status_code == 500 and "Something went wrong" in response.text
    expect_every_header_over_https(response)


async def test_a_login_whose_session_cannot_be_saved_leaves_the_cookie_and_the_form_working(app, client, user, monkeypatch):
    import sqlite3

    token = await csrf_token(client)
    cookie = client.cookies["session"]
    execute = app.state.db.execute

    async def locked_for_sessions(query, values=None):
        if query is app.state.queries.insert_session:
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = sqlite3.SQLITE_BUSY
            raise error
        return await execute(query, values)

    monkeypatch.setattr(app.state.db, "execute", locked_for_sessions)
    data = {"csrf_token": token, "email": user["email"], "password": PASSWORD}
    response = await client.post("/accounts/login", data=data)
    assert response.status_code == 503 and "set-cookie" not in response.headers
    assert client.cookies["session"] == cookie
    monkeypatch.setattr(app.state.db, "execute", execute)
    assert (await client.post("/accounts/login", data=data)).status_code == 303  # the same form, once the database is back


async def test_an_unexpected_error_is_a_500_page_without_a_traceback(app, client):
    async def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    app.state.hasher.verify_nobody = broken
    response = await log_in(client, email="a@example.com", password="x")
    assert response.status_code == 500
    assert "secret internals" not in response.text and "Something went wrong" in response.text


@pytest.mark.parametrize("header", ["content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy", "permissions-policy"])
async def test_security_headers_are_on_every_response(client, header):
    for path in ("/", "/accounts/login", "/nope", "/static/app.css"):
        assert header in (await client.get(path)).headers


def test_the_policy_allows_no_inline_script_or_style():
    from hxauth.middleware import CONTENT_SECURITY_POLICY

    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


async def test_pages_carry_no_inline_script_style_or_handler(logged_in):
    import re

    for path in ("/", "/accounts/logout"):
        html = (await logged_in.get(path)).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert not re.search(r"\son[a-z]+=", html) and "style=" not in html and "<style" not in html
        assert "hx-on" not in html and "js:" not in html


async def test_a_bug_in_the_sql_is_a_500_not_a_503(app, logged_in):
    """Only an unavailable database is a 503 ("try again"); a broken query is a bug."""
    app.state.queries.get_session_user = "SELECT no_such_column FROM sessions WHERE token_hash = :token_hash"
    response = await logged_in.get("/")
    assert response.status_code == 500
    assert "no_such_column" not in response.text


async def test_a_bug_in_the_sql_of_the_user_lookup_is_a_500_page_with_its_headers(app, logged_in):
    app.state.queries.get_session_user = "SELECT no_such_column FROM sessions WHERE token_hash = :token_hash"
    response = await logged_in.get("/")
    assert response.status_code == 500 and "Something went wrong" in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert f"<code>{response.headers['x-request-id']}</code>" in response.text


async def test_with_debug_a_database_fault_shows_its_traceback(make_app, unreachable_database):
    app = await make_app(debug=True)
    async with make_client(app) as client:
        token = await csrf_token(client)
        app.state.db = unreachable_database
        response = await client.post("/accounts/login", data={"csrf_token": token, "email": "a@example.com", "password": "x"})
        assert response.status_code == 500 and "Traceback" in response.text


async def test_with_debug_an_error_shows_its_traceback(make_app):
    app = await make_app(debug=True)

    async def broken(*args, **kwargs):
        raise RuntimeError("visible in debug")

    app.state.hasher.verify_nobody = broken
    async with make_client(app) as client:
        response = await log_in(client, email="a@example.com", password="x")
        assert response.status_code == 500 and "visible in debug" in response.text
