"""/dev/mailbox: the outbox as a development inbox (no MAIL_URL needed); a 404 in production."""

import datetime

from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse
from starlette.routing import Route

from hxauth.pages import render

# The HTML part is shown in a sandboxed frame of its own, under a policy that lets its inline styles
# through and nothing else: no script, no request anywhere, no form, framed by this site only. Without
# scripts, keeping the site's origin (allow-same-origin) gives a message nothing to use it with, and keeps
# the frame in the page's own process (Chromium leaves a cross-origin frame out of full-page screenshots).
MESSAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox allow-same-origin"
SHOWN = 50


def _development_only(request):
    if request.app.state.settings.env == "production":
        raise HTTPException(404)


def _when(epoch: int | None) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if epoch else ""


async def _message(request):
    state = request.app.state
    row = await state.db.fetch_one(state.queries.get_outbox_message, {"id": request.path_params["id"]})
    if row is None:
        raise HTTPException(404)
    return row


async def mailbox(request):
    """Every message the site has queued, newest first."""
    _development_only(request)
    state = request.app.state
    rows = await state.db.fetch_all(state.queries.list_outbox_messages, {"limit": SHOWN})
    messages = [{**dict(row), "created": _when(row["created_at"])} for row in rows]
    return render(request, "dev/mailbox.html", {"messages": messages, "sending": bool(state.settings.mail_url)})


async def mailbox_message(request):
    """One message: its headers, its text part, and its HTML part in a sandboxed frame."""
    _development_only(request)
    row = await _message(request)
    context = {"message": {**dict(row), "created": _when(row["created_at"]), "sent": _when(row["sent_at"])}}
    return render(request, "dev/message.html", context)


async def mailbox_message_html(request):
    """The HTML part alone, for the frame."""
    _development_only(request)
    row = await _message(request)
    headers = {"Content-Security-Policy": MESSAGE_POLICY, "X-Frame-Options": "SAMEORIGIN", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(row["html_body"], headers=headers)


routes = [
    Route("/dev/mailbox", mailbox, methods=["GET"]),
    Route("/dev/mailbox/{id:int}", mailbox_message, methods=["GET"]),
    Route("/dev/mailbox/{id:int}/html", mailbox_message_html, methods=["GET"]),
]
