"""TOTP with recovery codes: turning it on and off in Settings, and the login's second step."""

import asyncio
import json
import logging
import re
import time

import pyotp

from conftest import HX, PASSWORD, count, create_user, html_of, link_sent, log_in, make_client, messages_to, submit, text_of
from hxauth import two_factor

SETTINGS = "/accounts/settings"
SECRET = re.compile(r'id="two-factor-secret">([A-Z2-7 ]+)<')
CODES = re.compile(r"<li><code>([0-9a-z-]{19})</code></li>")


def code_at(secret: str, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time(), counter_offset=steps)


async def turn_on(client, steps: int = 0):
    """Turn TOTP on from Settings as a user does; returns the secret read off the page and the recovery codes."""
    page = await submit(client, SETTINGS, action=SETTINGS + "/two-factor/start")
    assert page.status_code == 303
    page = await client.get(SETTINGS)
    secret = SECRET.search(page.text).group(1).replace(" ", "")
    response = await submit(client, SETTINGS, {"code": code_at(secret, steps)}, action=SETTINGS + "/two-factor/enable")
    assert response.status_code == 200, response.text
    codes = CODES.findall(response.text)
    assert len(codes) == 10
    return secret, codes


async def log_out(client):
    await submit(client, "/accounts/logout", action="/accounts/logout")


async def test_turning_on_needs_a_right_code_then_shows_ten_codes_and_mails(app, logged_in, user):
    await submit(logged_in, SETTINGS, action=SETTINGS + "/two-factor/start")
    page = await logged_in.get(SETTINGS)
    assert 'src="data:image/svg+xml' in page.text
    response = await submit(logged_in, SETTINGS, {"code": "000000"}, action=SETTINGS + "/two-factor/enable")
    assert response.status_code == 422
    assert not await two_factor.is_on(app.state, user["id"])
    secret = SECRET.search(page.text).group(1).replace(" ", "")
    response = await submit(logged_in, SETTINGS, {"code": code_at(secret)}, action=SETTINGS + "/two-factor/enable")
    assert len(CODES.findall(response.text)) == 10
    assert 'download="hxauth-recovery-codes.txt"' in response.text
    assert await two_factor.is_on(app.state, user["id"])
    assert any("is on" in m["subject"] for m in await messages_to(app, user["email"]))
    assert CODES.search((await logged_in.get(SETTINGS)).text) is None  # shown once


async def test_the_secret_is_never_in_the_database_in_clear(app, logged_in, user):
    secret, codes = await turn_on(logged_in)
    stored = await app.state.db.fetch_val("SELECT secret FROM two_factor WHERE user_id = :id", {"id": user["id"]})
    assert secret not in stored and secret.lower() not in stored.lower()
    assert two_factor.decrypt_secret(app.state.settings, user["id"], stored)[0] == secret
    assert two_factor.decrypt_secret(app.state.settings, user["id"] + 1, stored)[0] is None  # bound to the user
    hashes = [row[0] for row in await app.state.db.fetch_all("SELECT code_hash FROM recovery_codes")]
    assert not any(code in h or code.replace("-", "") in h for code in codes for h in hashes)


async def test_an_older_secret_key_still_decrypts_and_the_secret_is_sealed_again(make_app, settings):
    import dataclasses
    old = dataclasses.replace(settings, secret_key="old-" + "o" * 40)
    stored = two_factor.encrypt_secret(old, 7, "JBSWY3DPEHPK3PXP")
    new = dataclasses.replace(settings, secret_key_fallbacks=old.secret_key)
    assert two_factor.decrypt_secret(new, 7, stored) == ("JBSWY3DPEHPK3PXP", False)
    assert two_factor.decrypt_secret(settings, 7, stored) == (None, False)


def test_drift_of_one_step_either_way_is_accepted_two_are_not():
    secret, now = pyotp.random_base32(), 1_800_000_015
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for offset in (-1, 0, 1):
        assert two_factor.matching_step(secret, totp.at(now, counter_offset=offset), now) == step + offset
    for offset in (-2, 2):
        assert two_factor.matching_step(secret, totp.at(now, counter_offset=offset), now) is None


async def test_login_asks_for_the_code_and_a_right_one_logs_in_to_next(app, client, user):
    secret, _ = await turn_on_fresh(app, client)
    response = await log_in(client, next="/accounts/settings", remember="yes")
    assert response.status_code == 303 and response.headers["location"] == "/accounts/login/code"
    assert await count(app, "SELECT count(*) FROM sessions") == 0
    page = await client.get("/accounts/login/code")
    assert "Enter the 6-digit code from your app, or a recovery code." in page.text
    wrong = await submit(client, "/accounts/login/code", {"code": "123 45"})
    assert wrong.status_code == 422
    response = await submit(client, "/accounts/login/code", {"code": code_at(secret, 1)})
    assert response.status_code == 303 and response.headers["location"] == "/accounts/settings"
    assert await count(app, "SELECT count(*) FROM sessions WHERE persistent = 1") == 1
    assert await count(app, "SELECT count(*) FROM pending_logins") == 0


async def turn_on_fresh(app, client):
    """Log in, turn TOTP on, log out: the client is anonymous with TOTP on for Ann."""
    assert (await log_in(client)).status_code == 303
    secret, codes = await turn_on(client)
    await log_out(client)
    return secret, codes


async def test_a_code_is_refused_when_replayed(app, client, user):
    secret, _ = await turn_on_fresh(app, client)
    code = code_at(secret, 1)
    await log_in(client)
    assert (await submit(client, "/accounts/login/code", {"code": code})).status_code == 303
    await log_out(client)
    await log_in(client)
    assert (await submit(client, "/accounts/login/code", {"code": code})).status_code == 422
    # The code used to turn it on is used up as well.


async def test_two_parallel_posts_of_one_code_make_one_session(app, client, user):
    secret, _ = await turn_on_fresh(app, client)
    await log_in(client)
    page = await client.get("/accounts/login/code")
    token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text).group(1)
    code = code_at(secret, 1)
    responses = await asyncio.gather(*[client.post("/accounts/login/code", data={"csrf_token": token, "code": code}) for _ in range(4)])
    assert sorted(r.status_code for r in responses).count(303) >= 1
    assert await count(app, "SELECT count(*) FROM sessions") == 1


async def test_a_recovery_code_works_once_and_mails(app, client, user):
    _, codes = await turn_on_fresh(app, client)
    await log_in(client)
    assert (await submit(client, "/accounts/login/code", {"code": codes[0].upper()})).status_code == 303
    assert any("recovery code was used" in m["subject"] for m in await messages_to(app, user["email"]))
    await log_out(client)
    await log_in(client)
    assert (await submit(client, "/accounts/login/code", {"code": codes[0]})).status_code == 422


async def test_wrong_codes_are_limited_with_retry_after(make_app, user, app):
    limited = await make_app(two_factor_account_limit=2)
    async with make_client(limited) as client:
        await turn_on_fresh(limited, client)
        await log_in(client)
        for _ in range(2):
            assert (await submit(client, "/accounts/login/code", {"code": "000000"}, headers=HX)).status_code == 422
        response = await submit(client, "/accounts/login/code", {"code": "000000"}, headers=HX)
        assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
        assert "Too many wrong codes" in response.text


async def test_the_owner_is_told_once_when_someone_with_the_password_runs_out_of_codes(make_app, caplog):
    caplog.set_level(logging.INFO, logger="hxauth.audit")
    limited = await make_app(two_factor_account_limit=2)
    await create_user(limited)
    async with make_client(limited) as client:
        await turn_on_fresh(limited, client)
        await log_in(client)
        for _ in range(5):  # 2 wrong codes, then 3 refusals: one lock-out
            await submit(client, "/accounts/login/code", {"code": "000000"})
    subjects = [m["subject"] for m in await messages_to(limited, "ann@example.com")]
    assert subjects.count("Someone who knows your hxauth password is trying codes") == 1
    [message] = [m for m in await messages_to(limited, "ann@example.com") if "trying codes" in m["subject"]]
    assert "2 wrong codes in a row" in message["text"] and "/accounts/settings" in message["text"]
    events = [json.loads(r.getMessage())["event"] for r in caplog.records if r.name == "hxauth.audit"]
    assert events.count("login.codes_locked") == 1 and events.count("login.code_limited") == 3


async def test_the_pending_login_expires_and_is_bound_to_the_browser(make_app, user, app):
    quick = await make_app(two_factor_login_seconds=1)
    async with make_client(quick) as client, make_client(quick) as other:
        secret, _ = await turn_on_fresh(quick, client)
        await log_in(client)
        await other.get("/accounts/login")
        assert (await other.get("/accounts/login/code")).headers["location"] == "/accounts/login"
        await quick.state.db.execute("UPDATE pending_logins SET expires_at = expires_at - 5")
        response = await client.get("/accounts/login/code")
        assert response.headers["location"] == "/accounts/login"
        assert "too long" in (await client.get("/accounts/login")).text


async def test_turning_off_needs_the_password_and_a_code(app, logged_in, user):
    secret, _ = await turn_on(logged_in)
    off = SETTINGS + "/two-factor/disable"
    assert (await submit(logged_in, SETTINGS, {"current_password": "wrong password!!", "code": code_at(secret, 1)}, action=off)).status_code == 422
    assert (await submit(logged_in, SETTINGS, {"current_password": PASSWORD, "code": "000000"}, action=off)).status_code == 422
    assert (await submit(logged_in, SETTINGS, {"current_password": PASSWORD}, action=off)).status_code == 422
    assert await two_factor.is_on(app.state, user["id"])
    assert (await submit(logged_in, SETTINGS, {"current_password": PASSWORD, "code": code_at(secret, 1)}, action=off)).status_code == 303
    assert not await two_factor.is_on(app.state, user["id"])
    assert await count(app, "SELECT count(*) FROM recovery_codes") == 0
    assert any("is off" in m["subject"] for m in await messages_to(app, user["email"]))


async def test_new_recovery_codes_replace_the_old(app, client, user):
    _, old = await turn_on_fresh(app, client)
    await log_in(client)
    await submit(client, "/accounts/login/code", {"code": old[1]})
    response = await submit(client, SETTINGS, {"current_password": PASSWORD}, action=SETTINGS + "/two-factor/recovery-codes")
    new = CODES.findall(response.text)
    assert len(new) == 10 and not set(new) & set(old)
    await log_out(client)
    await log_in(client)
    assert (await submit(client, "/accounts/login/code", {"code": old[2]})).status_code == 422
    assert (await submit(client, "/accounts/login/code", {"code": new[0]})).status_code == 303


async def test_deleting_the_account_deletes_everything_of_totp(app, logged_in, user):
    await turn_on(logged_in)
    await submit(logged_in, SETTINGS, {"current_password": PASSWORD, "confirm": "yes"}, action=SETTINGS + "/delete")
    for table in ("two_factor", "recovery_codes", "pending_logins"):
        assert await count(app, f"SELECT count(*) FROM {table}") == 0


async def test_hostile_input_to_the_new_forms_is_never_a_500(app, client, user):
    await turn_on_fresh(app, client)
    await log_in(client)
    for value in ["", " ", "x" * 5000, "<script>", "' OR 1=1 --", "１２３４５６", "\u202e123456", "0000-0000-0000-000o"]:
        response = await submit(client, "/accounts/login/code", {"code": value})
        assert response.status_code in (422, 429), (value, response.status_code)


async def test_every_factor_message_arrives_over_smtp_without_a_code_or_secret(make_app, smtp_server):
    app = await make_app(mail_url=smtp_server.url)
    await create_user(app)
    async with make_client(app) as client:
        secret, codes = await turn_on_fresh(app, client)
        assert (await log_in(client)).status_code == 303
        assert (await submit(client, "/accounts/login/code", {"code": codes[0]})).status_code == 303
        response = await submit(client, SETTINGS, {"current_password": PASSWORD}, action=SETTINGS + "/two-factor/recovery-codes")
        assert response.status_code == 200  # the new codes, shown this once
        codes += CODES.findall(response.text)
        form = {"current_password": PASSWORD, "code": codes[-1]}
        assert (await submit(client, SETTINGS, form, action=SETTINGS + "/two-factor/disable")).status_code == 303
    for subject in [
        "Two-factor authentication is on for your hxauth account",
        "A recovery code was used to log in to hxauth",
        "New recovery codes for your hxauth account",
        "Two-factor authentication is off for your hxauth account",
    ]:
        message = await smtp_server.next_message(to="ann@example.com", subject=subject)
        body = text_of(message) + html_of(message)
        assert "/accounts/settings" in body
        assert secret not in body and not any(code in body for code in codes)


async def test_a_password_reset_leaves_the_second_factor_on(app, client, user):
    """A reset link proves the mailbox, not the phone: whoever reads the mail still needs a code."""
    from test_reset_password import NEW_PASSWORD, choose, reset_link

    secret, _ = await turn_on_fresh(app, client)
    assert (await choose(client, await reset_link(client, app))).status_code == 303
    response = await log_in(client, password=NEW_PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/accounts/login/code"
    assert await count(app, "SELECT count(*) FROM sessions") == 0
    assert (await submit(client, "/accounts/login/code", {"code": code_at(secret, 1)})).status_code == 303
    assert "Hi Ann!" in (await client.get("/")).text
