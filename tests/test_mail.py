"""Mail: the outbox, written with the change it is about, and the sender that delivers it to a real SMTP server."""

import asyncio
import logging
import ssl
import time

import pytest
import trustme

from conftest import HX, SMTPServer, html_of, make_client, sqlite_only, text_of
from hxauth import cli, mail


async def queue(app, to="ann@example.com", template="test", **context):
    return await mail.queue(app.state, to=to, template=template, context=context)


async def outbox(app, message_id):
    return await app.state.db.fetch_one("SELECT * FROM outbox WHERE id = :id", {"id": message_id})


async def eventually(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "it did not happen"
        await asyncio.sleep(0.02)


def sender_tasks():
    return [task for task in asyncio.all_tasks() if task.get_name() == "hxauth mail sender"]


async def test_a_queued_message_is_delivered_with_a_text_and_an_html_part_then_marked_sent(make_app, smtp_server):
    app = await make_app(mail_url=smtp_server.url, mail_from="Site <site@hxauth.example>")
    message_id = await queue(app)
    message = await smtp_server.next_message(to="ann@example.com")
    assert message["From"] == "Site <site@hxauth.example>" and message["Subject"] == "A test message from hxauth"
    assert message["Message-ID"].endswith("@hxauth.example>") and message["Date"]
    assert "hxauth send-test-email" in text_of(message) and "<code>hxauth send-test-email</code>" in html_of(message)

    async def sent():
        return (await outbox(app, message_id))["sent_at"] is not None

    await eventually(sent)
    row = await outbox(app, message_id)
    assert row["attempts"] == 1 and row["text_body"] == row["html_body"] == ""  # a sent message keeps no live link
    await asyncio.sleep(0.3)
    assert len(smtp_server.received()) == 1  # sent once, not again on the next round


async def test_a_message_is_written_with_the_change_it_is_about_or_not_at_all(app):
    with pytest.raises(RuntimeError):
        async with app.state.db.transaction():
            await queue(app)
            raise RuntimeError("the change failed after the message was queued")
    assert await app.state.db.fetch_val("SELECT count(*) FROM outbox") == 0
    async with app.state.db.transaction():
        await queue(app)
    assert await app.state.db.fetch_val("SELECT count(*) FROM outbox") == 1


async def test_a_message_queued_while_the_smtp_server_is_down_arrives_when_it_is_back(make_app, smtp_server, monkeypatch):
    monkeypatch.setattr(mail, "FIRST_RETRY_SECONDS", 1)
    smtp_server.stop()
    app = await make_app(mail_url=smtp_server.url)
    message_id = await queue(app)

    async def failed_once():
        row = await outbox(app, message_id)
        return row["attempts"] >= 1 and row["last_error"] is not None

    await eventually(failed_once)
    assert (await outbox(app, message_id))["sent_at"] is None
    smtp_server.start()
    message = await smtp_server.next_message(to="ann@example.com", timeout=15)
    assert message["Subject"] == "A test message from hxauth"


async def test_a_message_waiting_for_the_smtp_server_survives_a_restart_of_the_app(settings, smtp_server, monkeypatch):
    from app import create_app
    import dataclasses

    monkeypatch.setattr(mail, "FIRST_RETRY_SECONDS", 1)
    settings = dataclasses.replace(settings, mail_url=smtp_server.url)
    smtp_server.stop()
    first = create_app(settings)
    async with first.router.lifespan_context(first):
        message_id = await queue(first)

        async def failed_once():
            return (await outbox(first, message_id))["last_error"] is not None

        await eventually(failed_once)
    assert not sender_tasks()  # stopped with the app
    smtp_server.start()
    second = create_app(settings)
    async with second.router.lifespan_context(second):
        message = await smtp_server.next_message(to="ann@example.com", timeout=15)
    assert message["Subject"] == "A test message from hxauth" and len(smtp_server.received()) == 1


async def test_several_instances_on_one_database_send_each_message_once(make_app, smtp_server):
    instances = [await make_app(mail_url=smtp_server.url) for _ in range(3)]
    recipients = [f"user{n}@example.com" for n in range(30)]
    for n, to in enumerate(recipients):
        await queue(instances[n % 3], to=to)
    for to in recipients:
        await smtp_server.next_message(to=to, timeout=15)
    await asyncio.sleep(0.5)  # time for a second copy to arrive, if any would
    assert sorted(m["To"] for m in smtp_server.received()) == sorted(recipients)


async def test_the_sender_keeps_trying_for_mail_retry_seconds_then_gives_up_and_says_so(make_app, smtp_server, caplog):
    smtp_server.stop()
    app = await make_app(mail_url=smtp_server.url, mail_retry_seconds=3600)
    caplog.set_level(logging.WARNING, logger="hxauth.mail")
    young, old = await queue(app, to="young@example.com"), await queue(app, to="old@example.com")
    await app.state.db.execute("UPDATE outbox SET created_at = created_at - 3601 WHERE id = :id", {"id": old})

    async def both_tried():
        return (await outbox(app, young))["last_error"] and (await outbox(app, old))["failed_at"]

    await eventually(both_tried)
    assert (await outbox(app, young))["failed_at"] is None
    assert any("gave up on message" in r.getMessage() and "old@example.com" in r.getMessage() for r in caplog.records)


def test_the_backoff_starts_at_seconds_and_settles_at_minutes_so_a_day_is_about_a_hundred_attempts():
    delays = [mail.retry_delay(n) for n in range(1, 200)]
    assert delays[:4] == [2, 4, 8, 16] and max(delays) == 15 * 60 and delays == sorted(delays)
    day, attempts, waited = 24 * 3600, 0, 0
    while waited < day:
        attempts += 1
        waited += mail.retry_delay(attempts)
    assert 90 <= attempts <= 110


async def test_without_mail_url_nothing_is_sent_messages_stay_in_the_outbox_and_their_links_are_logged(app, caplog):
    caplog.set_level(logging.INFO, logger="hxauth.mail")
    message_id = await queue(app)
    assert not sender_tasks()
    assert (await outbox(app, message_id))["sent_at"] is None
    logged = [r.getMessage() for r in caplog.records if r.name == "hxauth.mail"]
    assert any(f"/dev/mailbox/{message_id}" in line and "http://localhost:8000" in line for line in logged), logged


# /dev/mailbox


async def test_the_dev_mailbox_lists_messages_newest_first_and_shows_each_one(app, client):
    first = await queue(app, to="first@example.com")
    second = await queue(app, to="second@example.com")
    listing = await client.get("/dev/mailbox")
    assert listing.status_code == 200
    assert listing.text.index(f"/dev/mailbox/{second}") < listing.text.index(f"/dev/mailbox/{first}")
    shown = await client.get(f"/dev/mailbox/{first}")
    assert shown.status_code == 200 and "first@example.com" in shown.text and "hxauth send-test-email" in shown.text
    assert f'<iframe class="mail-html" sandbox="allow-same-origin" src="/dev/mailbox/{first}/html"' in shown.text
    assert "default-src 'self'" in shown.headers["content-security-policy"]  # the site's own policy holds
    part = await client.get(f"/dev/mailbox/{first}/html")
    assert part.status_code == 200 and "<code>hxauth send-test-email</code>" in part.text
    policy = part.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "sandbox allow-same-origin" in policy and "script" not in policy
    assert part.headers["x-frame-options"] == "SAMEORIGIN"


async def test_the_dev_mailbox_escapes_what_a_message_holds(app, client):
    message_id = await mail.queue(app.state, to="<script>@example.com", template="test", context={})
    shown = await client.get(f"/dev/mailbox/{message_id}")
    assert "<script>@" not in shown.text and "&lt;script&gt;@example.com" in shown.text


async def test_the_dev_mailbox_answers_htmx_with_its_content_and_an_unknown_message_with_404(app, client):
    await queue(app)
    fragment = await client.get("/dev/mailbox", headers=HX)
    assert fragment.status_code == 200 and "<!DOCTYPE" not in fragment.text and "Mailbox" in fragment.text
    assert (await client.get("/dev/mailbox/999")).status_code == 404
    assert (await client.get("/dev/mailbox/999/html")).status_code == 404


@pytest.mark.parametrize("path", ["/dev/mailbox", "/dev/mailbox/1", "/dev/mailbox/1/html"])
async def test_the_dev_mailbox_is_a_404_in_production(make_app, smtp_server, path):
    app = await make_app(env="production", mail_url=smtp_server.url, base_url="https://hxauth.example")
    await queue(app)
    async with make_client(app, base_url="https://hxauth.example") as client:
        response = await client.get(path)
    assert response.status_code == 404 and "test message" not in response.text


# hxauth send-test-email


def test_send_test_email_sends_one_through_mail_url_and_says_so(smtp_server, monkeypatch, capsys):
    monkeypatch.setenv("MAIL_URL", smtp_server.url)
    assert cli.main(["send-test-email", "--to", "Ops@Example.com"]) == 0
    assert f"sent a test message to ops@example.com through 127.0.0.1:{smtp_server.port}" in capsys.readouterr().out
    assert [m["Subject"] for m in smtp_server.received(to="ops@example.com")] == ["A test message from hxauth"]


def test_send_test_email_says_what_went_wrong(smtp_server, monkeypatch, capsys):
    monkeypatch.delenv("MAIL_URL", raising=False)
    assert cli.main(["send-test-email", "--to", "ops@example.com"]) == 2
    assert "MAIL_URL is not set" in capsys.readouterr().err
    smtp_server.stop()
    monkeypatch.setenv("MAIL_URL", smtp_server.url)
    assert cli.main(["send-test-email", "--to", "ops@example.com"]) == 1
    assert f"not sent through 127.0.0.1:{smtp_server.port}" in capsys.readouterr().err
    assert cli.main(["send-test-email", "--to", "not an address"]) == 2


@pytest.fixture
def trusted_ca(monkeypatch, tmp_path):
    """A certificate authority of the test's own, trusted by the app's TLS connections (OpenSSL's SSL_CERT_FILE)."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    return ca


def tls_server(ca, tls, login=None):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    smtp = SMTPServer(tls=tls, ssl_context=context, login=login)
    smtp.start()
    return smtp


async def test_smtp_upgrades_with_starttls_when_offered_and_logs_in_with_the_urls_credentials(make_app, trusted_ca):
    smtp = tls_server(trusted_ca, "starttls", login=("ann@example.com", "p:ss word"))
    try:
        url = smtp.url.replace("smtp://", "smtp://ann%40example.com:p%3Ass%20word@")
        app = await make_app(mail_url=url)
        await queue(app)
        assert (await smtp.next_message(to="ann@example.com"))["Subject"] == "A test message from hxauth"
    finally:
        smtp.stop()


async def test_smtps_is_tls_from_the_start(make_app, trusted_ca):
    smtp = tls_server(trusted_ca, "implicit")
    try:
        app = await make_app(mail_url=smtp.url)
        await queue(app)
        assert (await smtp.next_message(to="ann@example.com"))["Subject"] == "A test message from hxauth"
    finally:
        smtp.stop()


async def test_a_certificate_nobody_vouches_for_is_refused_and_the_message_waits(make_app, trusted_ca, monkeypatch):
    smtp = tls_server(trustme.CA(), "implicit")  # a CA that the app does not trust
    try:
        app = await make_app(mail_url=smtp.url)
        message_id = await queue(app)

        async def refused():
            return "CERTIFICATE_VERIFY_FAILED" in ((await outbox(app, message_id))["last_error"] or "")

        await eventually(refused)
        assert not smtp.received()
    finally:
        smtp.stop()


@pytest.mark.parametrize("url, expected", [
    ("smtp://mail.example", {"hostname": "mail.example", "port": 587, "use_tls": False, "start_tls": None, "username": None}),
    ("smtp://mail.example:25", {"port": 25, "start_tls": None}),
    ("smtps://ann%40example.com:p%3Ass@mail.example", {"port": 465, "use_tls": True, "start_tls": False, "username": "ann@example.com", "password": "p:ss"}),
])
def test_mail_url_says_where_and_how_to_connect(url, expected):
    options = mail.smtp_options(url)
    assert {key: options[key] for key in expected} == expected


@sqlite_only
@pytest.mark.parametrize("query", ["any_due_outbox_message", "claim_outbox_messages"])
async def test_the_senders_queries_use_the_due_index_not_a_scan_of_every_message_ever_sent(app, query):
    query = getattr(app.state.queries, query)
    plan = [row[3] for row in await app.state.db.fetch_all("EXPLAIN QUERY PLAN " + query.sql, {name: 1 for name in query.parameters})]
    assert any("outbox_due" in step for step in plan) and not [s for s in plan if s.startswith("SCAN") and s != "SCAN CONSTANT ROW"], plan
