"""Passkeys over HTTP with real signed WebAuthn data (tests/softauthn.py): add one in settings, log in with it alone."""

import json
import logging
import re

import pytest

from conftest import HX, PASSWORD, count, create_user, csrf_token, log_in, make_client, messages_to, submit, text_of
from softauthn import SoftPasskey, b64url
from test_two_factor import code_at, turn_on

PAGE = "/accounts/settings"
LOGIN_FAILED = "That passkey did not log you in."
CHALLENGE_GONE = "That took too long, or this page is out of date."


async def registration_options(client) -> dict:
    response = await client.post(PAGE + "/passkeys/options", data={"csrf_token": await csrf_token(client, PAGE)})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json" and response.headers["cache-control"] == "no-store"
    return response.json()


async def add_passkey(client, passkey: SoftPasskey | None = None, headers=None):
    passkey = passkey or SoftPasskey()
    answer = passkey.create(await registration_options(client))
    response = await submit(client, PAGE, {"credential": answer}, action=PAGE + "/passkeys/add", headers=headers)
    return passkey, response


async def login_options(client, page="/accounts/login") -> dict:
    response = await client.post("/accounts/login/passkey/options", data={"csrf_token": await csrf_token(client, page)})
    assert response.status_code == 200, response.text
    return response.json()


async def log_in_with(client, passkey: SoftPasskey, headers=None, verified=True, **extra):
    answer = passkey.get(await login_options(client), verified=verified)
    return await submit(client, "/accounts/login", {"credential": answer, **extra}, action="/accounts/login/passkey", headers=headers)


@pytest.fixture
async def ann_with_passkey(app, logged_in):
    passkey, response = await add_passkey(logged_in)
    assert response.status_code == 303 and response.headers["location"] == PAGE
    return passkey


async def test_a_user_adds_a_passkey_then_logs_in_with_it_alone_and_no_email(app, ann_with_passkey, caplog):
    caplog.set_level(logging.INFO, logger="hxauth.audit")
    page = await make_client(app).get(PAGE)  # anonymous: no list
    assert page.status_code == 303
    assert await count(app, "SELECT count(*) FROM passkeys") == 1
    assert [m["subject"] for m in await messages_to(app, "ann@example.com")][-1] == "A passkey was added to your hxauth account"
    async with make_client(app) as browser:
        response = await log_in_with(browser, ann_with_passkey, next="/accounts/settings", remember="yes")
        assert response.status_code == 303 and response.headers["location"] == "/accounts/settings"
        assert "Max-Age" in response.headers["set-cookie"]  # "Keep me logged in" honoured
        assert "Hi Ann!" in (await browser.get("/")).text
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "hxauth.audit"]
    assert {"event": "login.success", "method": "passkey"}.items() <= events[-1].items()
    row = await app.state.db.fetch_one("SELECT sign_count, last_used_at FROM passkeys")
    assert row["sign_count"] == 1 and row["last_used_at"] is not None


async def test_with_totp_on_a_verified_passkey_is_both_factors_and_a_touch_alone_still_needs_the_code(app, ann_with_passkey, logged_in):
    secret, _ = await turn_on(logged_in)
    async with make_client(app) as browser:
        response = await log_in_with(browser, ann_with_passkey)
        assert response.status_code == 303 and response.headers["location"] == "/"
        assert "Hi Ann!" in (await browser.get("/")).text
    async with make_client(app) as browser:
        sessions = await count(app, "SELECT count(*) FROM sessions")
        response = await log_in_with(browser, ann_with_passkey, verified=False, next="/accounts/settings")
        assert response.status_code == 303 and response.headers["location"] == "/accounts/login/code"
        assert await count(app, "SELECT count(*) FROM sessions") == sessions
        assert "Hi Ann!" not in (await browser.get("/")).text
        response = await submit(browser, "/accounts/login/code", {"code": code_at(secret, 1)})  # not the step turn_on used
        assert response.status_code == 303 and response.headers["location"] == "/accounts/settings"
        assert "Hi Ann!" in (await browser.get("/")).text


async def test_the_settings_page_lists_the_passkey_and_htmx_gets_the_section(app, logged_in):
    _, response = await add_passkey(logged_in, headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert "Your passkey is added." in response.text and 'id="passkeys-section"' in response.text
    page = (await logged_in.get(PAGE)).text
    assert "<strong>Passkey</strong>" in page and "Never" in page


async def test_registration_options_ask_for_a_discoverable_passkey_and_exclude_the_users_own(app, ann_with_passkey, logged_in, user):
    options = await registration_options(logged_in)
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["rp"]["id"] == "localhost"
    assert [c["id"] for c in options["excludeCredentials"]] == [json.loads(ann_with_passkey.create(options))["id"]]
    handle = options["user"]["id"]
    assert handle == (await registration_options(logged_in))["user"]["id"]  # stable
    assert "ann" not in handle and handle != str(user["id"])


async def test_the_same_passkey_cannot_be_added_twice(app, ann_with_passkey, logged_in):
    _, response = await add_passkey(logged_in, ann_with_passkey)
    assert response.status_code == 422 and "already registered" in response.text


async def test_a_challenge_works_once(app, ann_with_passkey):
    async with make_client(app) as browser:
        answer = ann_with_passkey.get(await login_options(browser))
        data = {"csrf_token": await csrf_token(browser), "credential": answer}
        assert (await browser.post("/accounts/login/passkey", data=data)).status_code == 303
    async with make_client(app) as replay:
        data = {"csrf_token": await csrf_token(replay), "credential": answer}
        await login_options(replay)  # a challenge of its own, which the replayed answer did not sign
        response = await replay.post("/accounts/login/passkey", data=data)
        assert response.status_code == 422 and LOGIN_FAILED in response.text


async def test_a_challenge_used_up_by_a_failure_is_gone(app, ann_with_passkey):
    async with make_client(app) as browser:
        options = await login_options(browser)
        token = await csrf_token(browser)
        bad = await browser.post("/accounts/login/passkey", data={"csrf_token": token, "credential": "{}"})
        assert bad.status_code == 422
        good = await browser.post("/accounts/login/passkey", data={"csrf_token": token, "credential": ann_with_passkey.get(options)})
        assert good.status_code == 422 and CHALLENGE_GONE in good.text


async def test_a_challenge_is_bound_to_its_browser(app, ann_with_passkey):
    async with make_client(app) as ann, make_client(app) as thief:
        answer = ann_with_passkey.get(await login_options(ann))
        stolen = await thief.post("/accounts/login/passkey", data={"csrf_token": await csrf_token(thief), "credential": answer})
        assert stolen.status_code == 422 and CHALLENGE_GONE in stolen.text
        mine = await ann.post("/accounts/login/passkey", data={"csrf_token": await csrf_token(ann), "credential": answer})
        assert mine.status_code == 303


async def test_a_challenge_expires(make_app, tmp_path):
    import asyncio

    app = await make_app(webauthn_challenge_seconds=1)
    await create_user(app)
    async with make_client(app) as ann:
        await log_in(ann)
        passkey, _ = await add_passkey(ann)
        await submit(ann, "/", action="/accounts/logout")
        answer = passkey.get(await login_options(ann))
        await asyncio.sleep(2.1)  # past the 1-second lifetime (whole seconds in the database)
        response = await ann.post("/accounts/login/passkey", data={"csrf_token": await csrf_token(ann), "credential": answer})
        assert response.status_code == 422 and CHALLENGE_GONE in response.text


async def test_a_challenge_is_for_its_purpose_only(app, logged_in, ann_with_passkey):
    other = SoftPasskey()
    answer = other.create(await login_options(logged_in, PAGE) | {"rp": {"id": "localhost"}, "user": {"id": "AAAA"}})
    response = await submit(logged_in, PAGE, {"credential": answer}, action=PAGE + "/passkeys/add")
    assert response.status_code == 422 and CHALLENGE_GONE in response.text
    async with make_client(app) as browser:
        await log_in(browser)
        options = await registration_options(browser)
        await submit(browser, "/", action="/accounts/logout")
    async with make_client(app) as browser:
        answer = ann_with_passkey.get(options)
        response = await submit(browser, "/accounts/login", {"credential": answer}, action="/accounts/login/passkey")
        assert response.status_code == 422


async def test_a_counter_that_does_not_grow_is_refused_as_a_clone(app, ann_with_passkey, caplog):
    caplog.set_level(logging.INFO, logger="hxauth.audit")
    await app.state.db.execute("UPDATE passkeys SET sign_count = 10")
    async with make_client(app) as browser:
        response = await log_in_with(browser, ann_with_passkey)
        assert response.status_code == 422 and LOGIN_FAILED in response.text
        assert "Hi Ann!" not in (await browser.get("/")).text
    failure = [json.loads(r.getMessage()) for r in caplog.records if "login.passkey_failure" in r.getMessage()]
    assert "sign count" in failure[-1]["reason"]


@pytest.mark.parametrize("tamper", ["unknown credential", "bad signature", "other origin", "other user handle"])
async def test_a_bad_assertion_gets_one_message_and_no_session(app, ann_with_passkey, tamper):
    async with make_client(app) as browser:
        options = await login_options(browser)
        if tamper == "unknown credential":
            answer = SoftPasskey(user_handle=b"x" * 32, rp_id="localhost").get(options)
        elif tamper == "other origin":
            answer = ann_with_passkey.get(options, origin="https://evil.example")
        elif tamper == "other user handle":
            answer = ann_with_passkey.get(options, user_handle=b"y" * 32)
        else:
            parsed = json.loads(ann_with_passkey.get(options))
            parsed["response"]["signature"] = "MEUCIQ" + "A" * 90
            answer = json.dumps(parsed)
        response = await submit(browser, "/accounts/login", {"credential": answer}, action="/accounts/login/passkey")
        assert response.status_code == 422 and LOGIN_FAILED in response.text
        assert "Hi Ann!" not in (await browser.get("/")).text


@pytest.mark.parametrize("credential", [
    "", "null", "[]", "{}", "not json", '{"id": 1}', '{"id": "x", "rawId": "x", "type": "public-key", "response": {"clientDataJSON": 5}}',
    json.dumps({"id": "!!", "rawId": "!!", "type": "public-key", "response": {"clientDataJSON": "!!", "authenticatorData": "!!", "signature": "!!", "attestationObject": "!!"}}),
    "[" * 5000 + "]" * 5000, json.dumps({"id": "A" * 40000}),
])
async def test_hostile_answers_are_a_clean_4xx_never_a_500(app, logged_in, credential):
    await registration_options(logged_in)
    added = await submit(logged_in, PAGE, {"credential": credential}, action=PAGE + "/passkeys/add")
    assert added.status_code == 422
    async with make_client(app) as browser:
        await login_options(browser)
        response = await submit(browser, "/accounts/login", {"credential": credential}, action="/accounts/login/passkey")
        assert response.status_code == 422


async def test_failed_passkey_logins_are_limited_per_client(make_app):
    app = await make_app(passkey_failure_limit=2)
    async with make_client(app) as browser:
        statuses = []
        for _ in range(3):
            await login_options(browser)
            statuses.append((await submit(browser, "/accounts/login", {"credential": "{}"}, action="/accounts/login/passkey")))
        assert [r.status_code for r in statuses] == [422, 422, 429]
        assert int(statuses[-1].headers["retry-after"]) > 0


async def test_challenges_are_limited_per_client(make_app):
    app = await make_app(passkey_challenge_limit=2)
    async with make_client(app) as browser:
        token = await csrf_token(browser)
        statuses = [(await browser.post("/accounts/login/passkey/options", data={"csrf_token": token})) for _ in range(3)]
        assert [r.status_code for r in statuses] == [200, 200, 429] and "retry-after" in statuses[-1].headers


async def test_rename_and_remove_with_the_password(app, ann_with_passkey, logged_in, caplog):
    caplog.set_level(logging.INFO, logger="hxauth.audit")
    [passkey_id] = re.findall(r'name="passkey_id" value="(\d+)"', (await logged_in.get(PAGE)).text)[:1]
    assert (await submit(logged_in, PAGE, {"passkey_id": passkey_id, "name": "  "}, action=PAGE + "/passkeys/rename")).status_code == 422
    renamed = await submit(logged_in, PAGE, {"passkey_id": passkey_id, "name": "Work laptop"}, action=PAGE + "/passkeys/rename")
    assert renamed.status_code == 303 and "<strong>Work laptop</strong>" in (await logged_in.get(PAGE)).text
    missing = await submit(logged_in, PAGE, {"passkey_id": passkey_id, "current_password": ""}, action=PAGE + "/passkeys/remove", headers=HX)
    assert missing.status_code == 422 and "Enter your current password, or confirm with a passkey." in missing.text
    wrong = await submit(logged_in, PAGE, {"passkey_id": passkey_id, "current_password": "not it"}, action=PAGE + "/passkeys/remove")
    assert wrong.status_code == 422 and await count(app, "SELECT count(*) FROM passkeys") == 1
    removed = await submit(logged_in, PAGE, {"passkey_id": passkey_id, "current_password": PASSWORD}, action=PAGE + "/passkeys/remove")
    assert removed.status_code == 303 and await count(app, "SELECT count(*) FROM passkeys") == 0
    assert [m["subject"] for m in await messages_to(app, "ann@example.com")][-1] == "A passkey was removed from your hxauth account"
    events = [json.loads(r.getMessage())["event"] for r in caplog.records if r.name == "hxauth.audit"]
    assert "passkey.renamed" in events and "passkey.removed" in events and "settings.wrong_password" in events
    async with make_client(app) as browser:
        assert (await log_in_with(browser, ann_with_passkey)).status_code == 422


async def test_another_users_passkey_is_neither_renamed_nor_removed(app, ann_with_passkey):
    await create_user(app, "Bob", "bob@example.com")
    passkey_id = await app.state.db.fetch_val("SELECT id FROM passkeys")
    async with make_client(app) as bob:
        await log_in(bob, "bob@example.com")
        await submit(bob, PAGE, {"passkey_id": str(passkey_id), "name": "Mine now"}, action=PAGE + "/passkeys/rename")
        await submit(bob, PAGE, {"passkey_id": str(passkey_id), "current_password": PASSWORD}, action=PAGE + "/passkeys/remove")
    assert await app.state.db.fetch_val("SELECT name FROM passkeys") == "Passkey"


async def test_deleting_the_account_deletes_its_passkeys(app, ann_with_passkey, logged_in):
    await submit(logged_in, PAGE, {"current_password": PASSWORD, "confirm": "yes"}, action=PAGE + "/delete")
    assert await count(app, "SELECT count(*) FROM passkeys") == 0


@pytest.mark.parametrize("path", [PAGE + "/passkeys/options", PAGE + "/passkeys/confirm-options"])
async def test_anonymous_visitors_cannot_start_a_registration_or_a_confirmation(app, client, path):
    response = await client.post(path, data={"csrf_token": await csrf_token(client)})
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/accounts/login/passkey/options", "/accounts/login/passkey", PAGE + "/passkeys/options",
                                  PAGE + "/passkeys/add", PAGE + "/passkeys/rename", PAGE + "/passkeys/remove",
                                  PAGE + "/passkeys/confirm-options"])
async def test_every_passkey_post_needs_the_csrf_token(app, logged_in, path):
    assert (await logged_in.post(path, data={"credential": "{}"})).status_code == 403


async def test_the_cleanup_deletes_expired_challenges(app, client):
    from hxauth import housekeeping

    await login_options(client)
    await app.state.db.execute("UPDATE passkey_challenges SET expires_at = 0")
    removed = await housekeeping.clean_up(app.state)
    assert removed["expired passkey challenges"] == 1


async def test_passkeys_are_offered_only_at_base_urls_host_where_browsers_allow_them(app, user):
    async with make_client(app, base_url="http://localhost:8000") as at_home, make_client(app, base_url="http://127.0.0.1:8000") as elsewhere:
        assert 'id="passkey-login-form"' in (await at_home.get("/accounts/login")).text
        assert "/static/passkeys.js" in (await at_home.get("/accounts/login")).text
        page = (await elsewhere.get("/accounts/login")).text
        assert 'id="passkey-login-form"' not in page and "/static/passkeys.js" not in page
        assert (await log_in(elsewhere)).status_code == 303
        page = (await elsewhere.get(PAGE)).text
        assert 'id="passkey-add-form"' not in page
        assert "Passkeys work only at this site's own address, http://localhost:8000" in page
        assert (await log_in(at_home)).status_code == 303
        assert 'id="passkey-add-form"' in (await at_home.get(PAGE)).text


async def test_the_passkey_messages_arrive_over_smtp(make_app, smtp_server):
    app = await make_app(mail_url=smtp_server.url)
    await create_user(app)
    async with make_client(app) as client:
        assert (await log_in(client)).status_code == 303
        passkey, response = await add_passkey(client)
        assert response.status_code == 303
        [listed] = await app.state.db.fetch_all("SELECT id, name FROM passkeys")
        form = {"passkey_id": str(listed["id"]), "current_password": PASSWORD}
        assert (await submit(client, PAGE, form, action=PAGE + "/passkeys/remove")).status_code == 303
    for subject in ["A passkey was added to your hxauth account", "A passkey was removed from your hxauth account"]:
        message = await smtp_server.next_message(to="ann@example.com", subject=subject)
        assert listed["name"] in text_of(message) and "/accounts/settings" in text_of(message)


async def confirm_options(client) -> dict:
    response = await client.post(PAGE + "/passkeys/confirm-options", data={"csrf_token": await csrf_token(client, PAGE)})
    assert response.status_code == 200, response.text
    return response.json()


async def remove_with(client, passkey: SoftPasskey, options: dict):
    [passkey_id] = re.findall(r'name="passkey_id" value="(\d+)"', (await client.get(PAGE)).text)[:1]
    form = {"passkey_id": passkey_id, "credential": passkey.get(options)}
    return await submit(client, PAGE, form, action=PAGE + "/passkeys/remove", headers=HX)


async def test_a_passkey_of_ones_own_confirms_a_removal_in_place_of_the_password(app, ann_with_passkey, logged_in, caplog):
    caplog.set_level(logging.INFO, logger="hxauth.audit")
    options = await confirm_options(logged_in)
    assert [allowed["id"] for allowed in options["allowCredentials"]] == [b64url(ann_with_passkey.credential_id)]
    response = await remove_with(logged_in, ann_with_passkey, options)
    assert response.status_code == 200 and "That passkey is removed." in response.text
    assert await count(app, "SELECT count(*) FROM passkeys") == 0
    assert [m["subject"] for m in await messages_to(app, "ann@example.com")][-1] == "A passkey was removed from your hxauth account"


async def test_another_users_passkey_or_another_ceremonys_challenge_confirms_nothing(app, ann_with_passkey, logged_in):
    await create_user(app, name="Bob", email="bob@example.com")
    async with make_client(app) as bob:
        assert (await log_in(bob, email="bob@example.com")).status_code == 303
        bobs_passkey, response = await add_passkey(bob)
        assert response.status_code == 303
    refused = await remove_with(logged_in, bobs_passkey, await confirm_options(logged_in))
    assert refused.status_code == 422 and "That passkey did not confirm that it is you." in refused.text
    # A login challenge is not a confirmation's, and a used confirmation challenge is gone.
    stale = await remove_with(logged_in, ann_with_passkey, await login_options(logged_in, page=PAGE))
    assert stale.status_code == 422 and CHALLENGE_GONE in stale.text
    assert await count(app, "SELECT count(*) FROM passkeys") == 2
