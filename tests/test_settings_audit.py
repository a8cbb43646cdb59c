"""Every change made in settings writes its audit event, with the user's id and never a password or token."""

import json
import logging
import re

from conftest import PASSWORD, create_user, link_in, log_in, make_client, submit

PAGE = "/accounts/settings"
NEW_PASSWORD = "a brand new passphrase for ann"


async def test_each_settings_change_is_an_audit_event(smtp_server, make_app, caplog):
    caplog.set_level(logging.INFO, logger="hxauth.audit")
    app = await make_app(mail_url=smtp_server.url)
    user_id = await create_user(app)
    async with make_client(app) as ann, make_client(app) as other:
        await log_in(ann)
        await log_in(other)
        await submit(ann, PAGE, {"name": "Ann Smith"}, action=f"{PAGE}/name")
        await submit(ann, PAGE, {"email": "new@example.com", "current_password": PASSWORD}, action=f"{PAGE}/email")
        while (message := await smtp_server.next_message(to="new@example.com"))["Subject"] != "Confirm your new email address for hxauth":
            pass
        path = link_in(message).removeprefix("http://localhost:8000")
        await submit(ann, path, action=path)
        [other_id] = re.findall(r'name="session_id" value="([0-9a-f]{32})"', (await ann.get(PAGE)).text)
        await submit(ann, PAGE, {"session_id": other_id}, action=f"{PAGE}/sessions/end")
        await submit(ann, PAGE, {"current_password": "a wrong one", "new_password": NEW_PASSWORD}, action=f"{PAGE}/password")
        await submit(ann, PAGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, action=f"{PAGE}/password")
        await submit(ann, PAGE, {"current_password": NEW_PASSWORD, "confirm": "yes"}, action=f"{PAGE}/delete")

    lines = [record.getMessage() for record in caplog.records if record.name == "hxauth.audit"]
    events = [json.loads(line) for line in lines]
    settings_events = [e["event"] for e in events if not e["event"].startswith("login")]
    assert settings_events == [
        "settings.name_changed", "settings.email_change_requested", "settings.email_changed", "session.revoked",
        "settings.wrong_password", "settings.password_changed", "account.deleted",
    ]
    assert all(e["user_id"] == user_id and e["client"] == "203.0.113.7" for e in events if e["event"] in settings_events)
    assert not any(secret in line for line in lines for secret in (PASSWORD, NEW_PASSWORD, "a wrong one", path.rpartition("/")[2]))
