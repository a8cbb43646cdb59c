"""Settings, Email: nothing changes until the link sent to the new address is used; the old address is told."""

import pytest

from conftest import HX, PASSWORD, create_user, link_in, log_in, make_client, submit, text_of

PAGE = "/accounts/settings"
SIGNUP = "Confirm your email address for hxauth"  # the confirmation every new account is sent



async def ask_for(client, email="new@example.com", password=PASSWORD, headers=None):
    return await submit(client, PAGE, {"email": email, "current_password": password}, action=f"{PAGE}/email", headers=headers)


async def confirm(client, link, headers=None):
    """Open the link's page, then press its button, as a person does."""
    path = link.removeprefix("http://localhost:8000")
    return await submit(client, path, action=path, headers=headers)


@pytest.fixture
async def mailing_app(smtp_server, make_app):
    app = await make_app(mail_url=smtp_server.url)
    await create_user(app)
    return app


@pytest.fixture
async def ann(mailing_app):
    async with make_client(mailing_app) as client:
        assert (await log_in(client)).status_code == 303
        yield client


async def email_of(app, user_id=1):
    return await app.state.db.fetch_val("SELECT email FROM users WHERE id = :id", {"id": user_id})


@pytest.mark.parametrize("headers", [None, HX], ids=["plain", "htmx"])
async def test_the_change_waits_for_the_link_sent_to_the_new_address(mailing_app, ann, smtp_server, headers):
    response = await ask_for(ann, email="  New@Example.com ", headers=headers)
    if headers:
        assert response.status_code == 200 and response.text.lstrip().startswith('<form id="email-form"')
        assert "We sent a link to your new address." in response.text
    else:
        assert response.status_code == 303 and response.headers["location"] == PAGE
        assert "We sent a link to your new address." in (await ann.get(PAGE)).text
    assert await email_of(mailing_app) == "ann@example.com"

    notice = await smtp_server.next_message(to="ann@example.com", subject="Your hxauth email address is being changed")
    assert notice["Subject"] == "Your hxauth email address is being changed"
    assert "from ann@example.com to new@example.com" in " ".join(text_of(notice).split())
    assert "change it" in text_of(notice)
    message = await smtp_server.next_message(to="new@example.com")
    assert message["Subject"] == "Confirm your new email address for hxauth"
    link = link_in(message)
    assert link.startswith("http://localhost:8000/accounts/confirm/") and len(link.rpartition("/")[2]) == 43

    page = await ann.get(link.removeprefix("http://localhost:8000"))  # opening the link changes nothing
    assert page.status_code == 200 and "Confirm my new email" in page.text and "new@example.com" in page.text
    assert await email_of(mailing_app) == "ann@example.com"
    response = await confirm(ann, link, headers=headers)
    assert response.status_code == (200 if headers else 303)
    assert (response.headers.get("hx-location") if headers else response.headers["location"]) == PAGE
    assert await email_of(mailing_app) == "new@example.com"
    assert "Your email address is changed." in (await ann.get(PAGE)).text
    async with make_client(mailing_app) as again:
        assert (await log_in(again, email="ann@example.com")).status_code == 422
        assert (await log_in(again, email="new@example.com")).status_code == 303


async def test_a_link_works_once(mailing_app, ann, smtp_server):
    await ask_for(ann)
    link = link_in(await smtp_server.next_message(to="new@example.com"))
    assert (await confirm(ann, link)).status_code == 303
    path = link.removeprefix("http://localhost:8000")
    again = await ann.get(path)
    assert again.status_code == 404 and "This link does not work" in again.text
    response = await submit(ann, PAGE, action=path)  # the button of the page, pressed again
    assert response.status_code == 404


async def test_another_users_link_does_nothing_for_them(mailing_app, ann, smtp_server):
    await ask_for(ann)
    link = link_in(await smtp_server.next_message(to="new@example.com"))
    await create_user(mailing_app, name="Bob", email="bob@example.com")
    async with make_client(mailing_app) as bob:
        await log_in(bob, email="bob@example.com")
        path = link.removeprefix("http://localhost:8000")
        assert (await bob.get(path)).status_code == 404
        assert (await submit(bob, "/", action=path)).status_code == 404
    assert await email_of(mailing_app, 2) == "bob@example.com" and await email_of(mailing_app) == "ann@example.com"
    assert (await confirm(ann, link)).status_code == 303  # still Ann's to use


async def test_a_link_opened_while_logged_out_asks_for_the_login_first(mailing_app, ann, smtp_server):
    await ask_for(ann)
    path = link_in(await smtp_server.next_message(to="new@example.com")).removeprefix("http://localhost:8000")
    async with make_client(mailing_app) as elsewhere:
        response = await elsewhere.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/accounts/login?next=%2Faccounts%2Fconfirm%2F")
        response = await log_in(elsewhere, next=path)
        assert response.headers["location"] == path
        assert (await submit(elsewhere, path, action=path)).status_code == 303
    assert await email_of(mailing_app) == "new@example.com"


async def test_an_address_taken_before_the_link_is_used_is_a_clean_message(mailing_app, ann, smtp_server):
    await ask_for(ann)
    link = link_in(await smtp_server.next_message(to="new@example.com"))
    await create_user(mailing_app, name="Someone", email="NEW@example.com")  # signs up with it meanwhile
    response = await confirm(ann, link, headers=HX)
    assert response.status_code == 409 and "Another account uses that address now" in response.text
    assert "<!DOCTYPE" not in response.text
    assert await email_of(mailing_app) == "ann@example.com"


@pytest.mark.parametrize("email, password, status, message", [
    ("not-an-email", PASSWORD, 422, "Enter an email address like name@example.com."),
    ("", PASSWORD, 422, "Enter your email address."),
    ("ANN@example.com", PASSWORD, 422, "That is already your email address."),
    ("new@example.com", None, 422, "Enter your current password."),
    ("new@example.com", "not my password at all", 422, "That is not your current password."),
    ("bob@example.com", PASSWORD, 409, "Another account uses that address."),
])
async def test_a_request_that_cannot_be_sent_says_why_in_place(mailing_app, ann, email, password, status, message):
    await create_user(mailing_app, name="Bob", email="bob@example.com")
    for headers in (HX, None):
        response = await ask_for(ann, email=email, password=password, headers=headers)
        assert response.status_code == status and message in response.text
    assert await mailing_app.state.db.fetch_val("SELECT count(*) FROM email_changes") == 0
    assert await mailing_app.state.db.fetch_val("SELECT count(*) FROM outbox WHERE subject <> :signup", {"signup": SIGNUP}) == 0


async def test_requests_are_limited_and_only_the_latest_link_works(mailing_app, ann, smtp_server):
    for number in range(5):
        assert (await ask_for(ann, email=f"new{number}@example.com")).status_code == 303
    response = await ask_for(ann, email="new5@example.com", headers=HX)
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
    assert "too many changes of email" in response.text
    first = link_in(await smtp_server.next_message(to="new0@example.com"))
    last = link_in(await smtp_server.next_message(to="new4@example.com"))
    assert (await confirm(ann, first)).status_code == 404
    assert (await confirm(ann, last)).status_code == 303
    assert await email_of(mailing_app) == "new4@example.com"


async def test_asking_whether_addresses_are_taken_is_limited_too(make_app):
    """The 409 says another account has an address: past the limit a taken one gets the same 429 as a free one."""
    app = await make_app(email_change_limit=3)
    await create_user(app)
    await create_user(app, name="Bob", email="bob@example.com")
    async with make_client(app) as ann:
        assert (await log_in(ann)).status_code == 303
        for number in range(3):
            assert (await ask_for(ann, email=f"someone{number}@example.com")).status_code in (303, 409)
        taken, free = await ask_for(ann, email="bob@example.com"), await ask_for(ann, email="free@example.com")
        assert taken.status_code == free.status_code == 429
        assert "too many changes of email" in taken.text and "too many changes of email" in free.text


async def test_changes_of_email_are_limited_per_client_across_accounts(make_app):
    app = await make_app(email_change_client_limit=4)
    for number in range(3):
        await create_user(app, name=f"User {number}", email=f"user{number}@example.com")
    answers = []
    for number in range(3):  # one client (the tests' address), three accounts, two requests each
        async with make_client(app) as client:
            assert (await log_in(client, email=f"user{number}@example.com")).status_code == 303
            for attempt in range(2):
                answers.append((await ask_for(client, email=f"new{number}-{attempt}@example.com")).status_code)
    assert answers == [303] * 4 + [429] * 2


async def test_an_expired_or_malformed_link_is_a_404(mailing_app, ann, smtp_server):
    await ask_for(ann)
    link = link_in(await smtp_server.next_message(to="new@example.com"))
    await mailing_app.state.db.execute("UPDATE email_changes SET expires_at = created_at - 1")
    assert (await ann.get(link.removeprefix("http://localhost:8000"))).status_code == 404
    for token in ("x", "%00" * 43, "a" * 5000, "'; DROP TABLE users; --"):
        assert (await ann.get(f"{PAGE}/email/{token}")).status_code == 404
    assert await email_of(mailing_app) == "ann@example.com"


async def test_migration_0010_keeps_each_users_latest_request_only_and_then_the_database_does(tmp_path):
    """Before 0010 a burst of requests could leave a row each (test_bursts.py); the migration keeps the newest."""
    from conftest import create_user_in, database_url, migrate_up_to
    from hxauth.database import open_database
    from hxauth.migrations import migrate

    insert = ("INSERT INTO email_changes (token_hash, user_id, old_email, new_email, created_at, expires_at) "
              "VALUES (:t, :u, 'ann@example.com', :new, :at, 99999999999)")
    async with open_database(database_url(tmp_path)) as db:
        await migrate_up_to(db, tmp_path, "0010")
        ann, bob = await create_user_in(db), await create_user_in(db, name="Bob", email="bob@example.com")
        for number, (user_id, at) in enumerate([(ann, 1), (ann, 3), (ann, 2), (bob, 5)]):
            await db.execute(insert, {"t": f"hash-{number}", "u": user_id, "new": f"new{number}@example.com", "at": at})
        assert "0010_one_email_change_per_user" in await migrate(db)
        rows = await db.fetch_all("SELECT user_id, new_email FROM email_changes ORDER BY user_id")
        assert [(row["user_id"], row["new_email"]) for row in rows] == [(ann, "new1@example.com"), (bob, "new3@example.com")]
        with pytest.raises(Exception, match="(?i)unique"):
            await db.execute(insert, {"t": "hash-9", "u": ann, "new": "new9@example.com", "at": 9})
