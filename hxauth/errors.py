"""Error pages: a clear message for every 4xx, a 503 for database faults, never a traceback (unless DEBUG).

HTTP errors and database faults are handled inside ResponseHeaders, so their pages get
every header: in a route by Starlette's ExceptionMiddleware (`handlers`), in the session
stack (the user lookup) by `FaultPages`, with the same `database_fault`. Only an
unexpected error reaches `server_error`, outside every middleware.
"""

import logging
from http import HTTPStatus

from starlette.authentication import AuthCredentials, UnauthenticatedUser
from starlette.exceptions import HTTPException
from starlette.requests import Request

from hxauth import audit, pages
from hxauth.passwords import Busy
from hxauth.requests import request_id
from hxauth.faults import FAULT_TYPES, is_database_fault
from hxauth.middleware import ResponseHeaders

log = logging.getLogger("hxauth")


async def http_error(request, exc: HTTPException):
    """A 4xx page. Starlette's default detail (the status's English name) gives way to the page's own message."""
    _anonymous_unless_known(request)
    message = None if exc.detail == HTTPStatus(exc.status_code).phrase else exc.detail
    return pages.error(request, exc.status_code, message, headers=exc.headers)


async def database_fault(request, exc: Exception):
    """The database is down, locked or read-only: a 503, try again. A mistake in the SQL (SQLite reports
    some as the same exception class) is re-raised, to be a 500; so is every fault under DEBUG (the traceback)."""
    if request.app.debug or not is_database_fault(exc):
        raise exc
    _anonymous_unless_known(request)
    log.error("request_id=%s database unavailable: %s %s: %r", request_id(request), request.method, request.url.path, exc)
    return pages.error(request, 503, headers={"Retry-After": "5"})


async def hashing_busy(request, exc: Busy):
    """No room to hash for this login, signup or reset (passwords.Hasher.slot): 429 for a client over its share,
    503 when everyone's is full; logged, so an operator sees a flood."""
    audit.record(request, "hash.busy", status=exc.status_code, path=request.url.path)
    return pages.error(request, exc.status_code, exc.message, headers={"Retry-After": str(exc.retry_after)})


async def server_error(request, exc: Exception):
    """The last resort, in Starlette's ServerErrorMiddleware outside every other middleware: so the page goes out
    through ResponseHeaders itself, and gets the same headers as every other response."""
    _anonymous_unless_known(request)
    log.error("request_id=%s unexpected error: %s %s", request_id(request), request.method, request.url.path, exc_info=exc)
    return ResponseHeaders(pages.error(request, 500))


def _anonymous_unless_known(request) -> None:
    """An error can come before the session is read (a static file, a fault in the user lookup): show it anonymously."""
    request.scope.setdefault("user", UnauthenticatedUser())
    request.scope.setdefault("auth", AuthCredentials())


class FaultPages:
    """A database fault raised in the middleware below this one (the session's user lookup) gets `database_fault`'s
    503 page, as a fault in a route does from Starlette's handlers; anything else goes on up."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def watch(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except FAULT_TYPES as error:
            if started:
                raise
            response = await database_fault(Request(scope, receive), error)  # re-raises what is not a fault
            await response(scope, receive, send)


handlers = {
    HTTPException: http_error, Busy: hashing_busy, **{fault: database_fault for fault in FAULT_TYPES}, Exception: server_error,
}
