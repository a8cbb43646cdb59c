"""The audit log: a JSON line per account event, with request id and client, never a secret."""

import json
import logging

import pytest

from conftest import PASSWORD, csrf_token, log_in, make_client, submit


@pytest.fixture
def audit_lines(caplog):
    caplog.set_level(logging.INFO, logger="hxauth.audit")

    def lines():
        return [json.loads(record.getMessage()) for record in caplog.records if record.name == "hxauth.audit"]

    return lines


async def test_signup_login_failure_success_and_logout_are_logged(client, audit_lines):
    response = await submit(client, "/accounts/signup", {"name": "Bob", "email": "bob@example.com", "password": PASSWORD})
    await log_in(client, email="bob@example.com", password="wrong password here")
    await log_in(client, email="bob@example.com")
    await submit(client, "/accounts/logout", headers={"X-Request-ID": "trace-12345678"})

    events = audit_lines()
    assert [e["event"] for e in events] == ["signup", "confirm.sent", "login.failure", "login.success", "logout"]
    user_id = events[0]["user_id"]
    assert events[1]["user_id"] == events[3]["user_id"] == events[4]["user_id"] == user_id
    assert all(e["client"] == "203.0.113.7" for e in events)
    assert events[0]["request_id"] == events[1]["request_id"] == response.headers["x-request-id"]
    assert events[4]["request_id"] == "trace-12345678"


async def test_lockouts_are_logged(make_app, audit_lines):
    app = await make_app(login_account_limit=1)
    async with make_client(app) as client:
        await log_in(client, email="x@example.com", password="wrong password here")
        await log_in(client, email="x@example.com", password="wrong password here")
    assert [e["event"] for e in audit_lines()] == ["login.failure", "login.locked"]


async def test_no_password_token_or_cookie_is_ever_logged(client, user, caplog):
    caplog.set_level(logging.DEBUG)
    await log_in(client, password="wrong password here")
    await log_in(client)
    token = await csrf_token(client, "/accounts/logout")
    cookie = client.cookies["session"]
    await submit(client, "/accounts/logout")
    text = caplog.text
    assert caplog.records
    for secret in (PASSWORD, "wrong password here", cookie, cookie.split(".")[0], token):
        assert secret not in text
