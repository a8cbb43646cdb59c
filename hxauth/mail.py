"""Mail: messages queued in the outbox with the change they are about, and the sender that delivers them.

`queue` renders a message from templates/emails/ and inserts it into the outbox
in the caller's transaction, so a token and the message carrying it are written
together or not at all. The sender (`sending`, run by the app's lifespan)
claims due messages, sends them with aiosmtplib to MAIL_URL and marks them
sent; a failure is tried again with backoff (seconds at first, then minutes)
for MAIL_RETRY_SECONDS. Several instances share the outbox: a claim takes a
message for `LEASE_SECONDS` in one statement, so no two send it. With no
MAIL_URL (development) nothing is sent: messages stay in the outbox, their
links go to the log, and /dev/mailbox shows them.
"""

import asyncio
import contextlib
import email.utils
import logging
import re
import time
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib
import jinja2

from hxauth.settings import ROOT

# A message is the sender's for this long once claimed; one that is not sent or postponed by then
# (its sender died) is due again. Longer than one SMTP attempt can take (TIMEOUT_SECONDS).
LEASE_SECONDS = 120
TIMEOUT_SECONDS = 30
BATCH_SIZE = 20
# After the n-th failed attempt, wait FIRST_RETRY_SECONDS * 2**(n-1), at most MAX_RETRY_SECONDS.
FIRST_RETRY_SECONDS = 2
MAX_RETRY_SECONDS = 15 * 60
SITE_NAME = "hxauth"

log = logging.getLogger("hxauth.mail")

# Text parts are not HTML: only the .html templates are escaped.
environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(ROOT / "templates" / "emails"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)
LINK = re.compile(r"https?://[^\s<>\"]+")


def link(settings, path: str) -> str:
    """An absolute link for a message: BASE_URL and `path`, never the request's Host header."""
    return settings.base_url + path


def render(template: str, context: dict) -> tuple[str, str, str]:
    """The subject, text and HTML of templates/emails/<template>.txt and .html."""
    context = {"site_name": SITE_NAME, **context}
    text_template = environment.get_template(f"{template}.txt")
    subject = "".join(text_template.blocks["subject"](text_template.new_context(context)))
    text = text_template.render(context)
    html = environment.get_template(f"{template}.html").render(context)
    return " ".join(subject.split()), text, html


async def queue(state, *, to: str, template: str, context: dict, user_id: int | None = None) -> int:
    """Put a message into the outbox; returns its id. Call it inside the transaction of the change
    the message is about. A message with a `user_id` is deleted with that user if still unsent."""
    settings = state.settings
    subject, text, html = render(template, {"base_url": settings.base_url, **context})
    now = int(time.time())
    values = {
        "user_id": user_id,
        "recipient": to,
        "subject": subject,
        "text_body": text,
        "html_body": html,
        "message_id": email.utils.make_msgid(domain=_domain(settings.mail_from)),
        "now": now,
    }
    message_id = await state.db.fetch_val(state.queries.insert_outbox_message, values)
    if not settings.mail_url:
        links = " ".join(LINK.findall(text)) or "no links"
        log.info("mail kept in the outbox (no MAIL_URL; see /dev/mailbox/%s) to %s: %s: %s", message_id, to, subject, links)
    return message_id


def _domain(address: str) -> str:
    return email.utils.parseaddr(address)[1].rpartition("@")[2] or "localhost"


def message(settings, row) -> EmailMessage:
    """The message of an outbox row, as it goes out: plain text with an HTML alternative."""
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = row["recipient"]
    mail["Subject"] = row["subject"]
    mail["Date"] = email.utils.formatdate(row["created_at"])
    mail["Message-ID"] = row["message_id"]
    mail.set_content(row["text_body"])
    mail.add_alternative(row["html_body"], subtype="html")
    return mail


def smtp_options(mail_url: str) -> dict:
    """aiosmtplib.send's connection options from MAIL_URL: smtps:// is TLS from the start; smtp:// uses
    STARTTLS when the server offers it (aiosmtplib's start_tls=None)."""
    url = urlsplit(mail_url)
    tls = url.scheme == "smtps"
    return {
        "hostname": url.hostname,
        "port": url.port or (465 if tls else 587),
        "username": unquote(url.username) if url.username else None,
        "password": unquote(url.password) if url.password else None,
        "use_tls": tls,
        "start_tls": False if tls else None,
        "timeout": TIMEOUT_SECONDS,
    }


async def send(settings, mail: EmailMessage) -> None:
    """Deliver one message to MAIL_URL now; raises aiosmtplib.SMTPException or OSError if it fails."""
    await aiosmtplib.send(mail, **smtp_options(settings.mail_url))


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the `attempts`-th failure: 2, 4, 8, ... then every 15 minutes."""
    return min(FIRST_RETRY_SECONDS * 2 ** min(attempts - 1, 20), MAX_RETRY_SECONDS)


async def deliver_due(state) -> int:
    """Claim the due messages and try each once; returns how many were claimed."""
    db, queries, settings = state.db, state.queries, state.settings
    now = int(time.time())
    if not await db.fetch_val(queries.any_due_outbox_message, {"now": now}):
        return 0
    claim = {"now": now, "lease_until": now + LEASE_SECONDS, "batch_size": BATCH_SIZE}
    rows = await db.fetch_all(queries.claim_outbox_messages, claim)
    for row in rows:
        try:
            await send(settings, message(settings, row))
        except Exception as error:  # refused, unreachable, timed out: all the same to the outbox
            now = int(time.time())
            reason = f"{type(error).__name__}: {error}"[:500]
            if now - row["created_at"] >= settings.mail_retry_seconds:
                log.error("gave up on message %s to %s after %d attempts: %s", row["id"], row["recipient"], row["attempts"], reason)
                await db.execute(queries.give_up_outbox_message, {"id": row["id"], "now": now, "error": reason})
            else:
                delay = retry_delay(row["attempts"])
                log.warning("message %s to %s not sent (%s); trying again in %d s", row["id"], row["recipient"], reason, delay)
                await db.execute(queries.postpone_outbox_message, {"id": row["id"], "send_after": now + delay, "error": reason})
        else:
            log.info("sent message %s to %s: %s", row["id"], row["recipient"], row["subject"])
            await db.execute(queries.mark_outbox_message_sent, {"id": row["id"], "now": int(time.time())})
    return len(rows)


async def _deliver_until(state, stopping: asyncio.Event) -> None:
    poll = state.settings.mail_poll_seconds
    while not stopping.is_set():
        try:
            claimed = await deliver_due(state)
        except Exception:  # the database is down or locked: the messages wait in the outbox
            log.exception("the mail sender could not read the outbox; trying again in %s s", poll)
            claimed = 0
        if claimed < BATCH_SIZE:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), poll)


@contextlib.asynccontextmanager
async def sending(state, *, grace_seconds: float = 10):
    """While the app runs, deliver the outbox (never without MAIL_URL). At shutdown a message being sent
    is given `grace_seconds` to finish, so it is not sent again by the next start."""
    if not state.settings.mail_url:
        yield
        return
    stopping = asyncio.Event()
    task = asyncio.create_task(_deliver_until(state, stopping), name="hxauth mail sender")
    try:
        yield
    finally:
        stopping.set()
        try:
            await asyncio.wait_for(task, grace_seconds)
        except asyncio.TimeoutError:
            log.warning("the mail sender did not stop within %s s; a message it was sending may go out twice", grace_seconds)


async def delete_old(state, older_than: int, batch_size: int) -> int:
    """Forget up to `batch_size` sent or given-up messages older than `older_than` seconds; returns how many."""
    values = {"before": int(time.time()) - older_than, "batch_size": batch_size}
    return await state.db.execute(state.queries.delete_old_outbox_messages, values)
