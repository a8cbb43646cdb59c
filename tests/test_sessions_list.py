"""Settings, "Where you are logged in": every live session with its device, and ending one or all others."""

import logging
import re

import pytest

from conftest import HX, create_user, create_user_in, log_in, make_client, submit
from hxauth import sessions

PAGE = "/accounts/settings"
FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.1 Mobile/15E148 Safari/604.1")


def session_ids(page) -> list[str]:
    return re.findall(r'name="session_id" value="([0-9a-f]{32})"', page.text)


@pytest.fixture
async def two_browsers(app):
    """Ann logged in on Firefox (kept logged in) from one address and on an iPhone from another."""
    await create_user(app)
    async with make_client(app, client=("198.51.100.1", 1000)) as firefox, make_client(app, client=("203.0.113.50", 2000)) as iphone:
        firefox.headers["user-agent"], iphone.headers["user-agent"] = FIREFOX, IPHONE
        assert (await log_in(firefox, remember="yes")).status_code == 303
        assert (await log_in(iphone)).status_code == 303
        yield firefox, iphone


def test_devices_are_read_from_the_user_agent_by_ua_parser():
    assert sessions.device(FIREFOX) == "Firefox 120 on Ubuntu"
    assert sessions.device(IPHONE) == "Mobile Safari 17 on iOS 17"
    assert sessions.device("") == "Unknown device"
    assert sessions.device("curl/8.5.0").startswith("curl")


async def test_the_list_shows_both_browsers_this_one_first_and_marked(app, two_browsers):
    firefox, iphone = two_browsers
    page = await firefox.get(PAGE)
    text = page.text
    assert text.index("Firefox 120 on Ubuntu") < text.index("Mobile Safari 17 on iOS 17")
    assert text.count("This device") == 1 and text.index("This device") < text.index("Mobile Safari")
    assert "198.51.100.1" in text and "203.0.113.50" in text
    assert "Kept logged in" in text and "When the browser closes" in text
    assert len(session_ids(page)) == 1  # a "Log out" form for the other session only
    assert "Log out all other sessions" in text
    for token_hash in [row[0] for row in await app.state.db.fetch_all("SELECT token_hash FROM sessions")]:
        assert token_hash not in text  # the page names sessions by id, never by a secret's digest


async def test_log_out_one_session_ends_it_at_once_plain_and_htmx(app, two_browsers, caplog):
    caplog.set_level(logging.INFO, logger="hxauth.audit")
    firefox, iphone = two_browsers
    [other] = session_ids(await firefox.get(PAGE))
    response = await submit(firefox, PAGE, {"session_id": other}, action=f"{PAGE}/sessions/end", headers=HX)
    assert response.status_code == 200 and response.text.lstrip().startswith('<div id="sessions-list">')
    assert "That session is logged out." in response.text and "Mobile Safari" not in response.text
    assert "You are not logged in" in (await iphone.get("/")).text
    assert "Hi Ann!" in (await firefox.get("/")).text
    assert any('"event": "session.revoked"' in r.getMessage() for r in caplog.records)

    # Plain post, for a session that has ended already: a clean message, not an error.
    response = await submit(firefox, PAGE, {"session_id": other}, action=f"{PAGE}/sessions/end")
    assert response.status_code == 303 and response.headers["location"] == PAGE
    assert "That session had already ended." in (await firefox.get(PAGE)).text


async def test_log_out_all_other_sessions_keeps_this_one(app, two_browsers):
    firefox, iphone = two_browsers
    async with make_client(app) as third:
        await log_in(third)
        response = await submit(firefox, PAGE, action=f"{PAGE}/sessions/end-others")
        assert response.status_code == 303
        page = await firefox.get(PAGE)
        assert "Every other session is logged out." in page.text and "You are logged in on this browser only." in page.text
        assert "You are not logged in" in (await iphone.get("/")).text
        assert "You are not logged in" in (await third.get("/")).text
        assert await app.state.db.fetch_val("SELECT count(*) FROM sessions") == 1


async def test_no_one_ends_their_own_session_or_anothers_by_its_id(app, two_browsers):
    firefox, iphone = two_browsers
    await create_user(app, name="Bob", email="bob@example.com")
    async with make_client(app) as bob:
        await log_in(bob, email="bob@example.com")
        ann_ids = [row[0] for row in await app.state.db.fetch_all("SELECT id FROM sessions WHERE user_id = 1")]
        assert len(ann_ids) == 2
        for session_id in ann_ids + ["", "x" * 5000, "' OR 1=1 --"]:
            response = await submit(bob, PAGE, {"session_id": session_id}, action=f"{PAGE}/sessions/end", headers=HX)
            assert response.status_code == 200 and "That session had already ended." in response.text
        assert await app.state.db.fetch_val("SELECT count(*) FROM sessions") == 3
        # Ann's own session is not in her forms, and posting its id does not end it either.
        current = [i for i in ann_ids if i not in session_ids(await firefox.get(PAGE))]
        await submit(firefox, PAGE, {"session_id": current[0]}, action=f"{PAGE}/sessions/end")
        assert "Hi Ann!" in (await firefox.get("/")).text


async def test_sessions_from_before_migration_0007_get_ids_of_their_own_and_keep_the_idle_expiry(tmp_path):
    """0007 adds the id to the sessions of a live database: each gets a different one, on both databases."""
    from conftest import database_url, migrate_up_to
    from hxauth.database import open_database
    from hxauth.migrations import migrate

    async with open_database(database_url(tmp_path)) as db:
        await migrate_up_to(db, tmp_path, "0007")
        user_id = await create_user_in(db)
        for number in range(3):
            await db.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (:t, :u, 1, 1)",
                {"t": f"hash-{number}", "u": user_id},
            )
        assert (await migrate(db))[0] == "0007_account_settings"  # and any later ones
        rows = await db.fetch_all("SELECT id, persistent, user_agent FROM sessions")
        assert len({row["id"] for row in rows}) == 3 and all(len(row["id"]) == 32 for row in rows)
        assert {(row["persistent"], row["user_agent"]) for row in rows} == {(0, "")}
