"""Decorators for route handlers that depend on who is logged in."""

import functools
from urllib.parse import urlencode, urlsplit

from starlette.responses import RedirectResponse, Response

from hxauth.pages import VARY, redirect


def redirect_if_user_is_authenticated(handler):
    """Signup and login forms make no sense to a logged-in user: send them home."""

    @functools.wraps(handler)
    async def guarded(request):
        if request.user.is_authenticated:
            return redirect(request, "/")
        return await handler(request)

    return guarded


def require_authenticated_user(handler):
    """Send anonymous users to the login page, with `next` set to where they were going.

    For htmx the page they were on is HX-Current-URL, and the answer is a full
    page load (HX-Redirect): a login form swapped into a fragment would be wrong.
    """

    @functools.wraps(handler)
    async def guarded(request):
        if request.user.is_authenticated:
            return await handler(request)
        if request.headers.get("hx-request") == "true":
            current = urlsplit(request.headers.get("hx-current-url", "/"))
            here = current.path + (f"?{current.query}" if current.query else "")
            return Response(status_code=204, headers={"HX-Redirect": _login_url(here), "Vary": VARY})
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(_login_url(here), status_code=303, headers={"Vary": VARY})

    return guarded


def _login_url(next_path: str) -> str:
    return "/accounts/login?" + urlencode({"next": next_path or "/"})
