"""Error pages: a clear message for every 4xx, a 503 for database faults, never a traceback (unless DEBUG)."""

import logging

from starlette.authentication import AuthCredentials, UnauthenticatedUser
from starlette.exceptions import HTTPException

from hxauth import pages
from hxauth.audit import request_id
from hxauth.faults import is_database_fault
from hxauth.middleware import SECURITY_HEADERS

log = logging.getLogger("hxauth")

MESSAGES = {
    400: "The request could not be understood.",
    403: "You are not allowed to do that.",
    404: "There is no page at this address.",
    405: "This page does not accept that kind of request.",
    413: "That request is too large.",
    415: "That kind of content is not accepted here.",
    429: "Too many requests. Wait a little and try again.",
    500: "An unexpected error happened on our side. Please try again.",
    503: "The site cannot reach its database right now. Please try again in a few seconds.",
}


async def http_error(request, exc: HTTPException):
    message = MESSAGES.get(exc.status_code, exc.detail)
    return pages.error(request, exc.status_code, message, headers=exc.headers)


async def server_error(request, exc: Exception):
    """Last resort, outside every middleware: the request may not have a user yet."""
    request.scope.setdefault("user", UnauthenticatedUser())
    request.scope.setdefault("auth", AuthCredentials())
    reference = request_id(request)
    if is_database_fault(exc):
        log.error("request_id=%s database unavailable: %s %s: %r", reference, request.method, request.url.path, exc)
        response = pages.error(request, 503, MESSAGES[503], headers={"Retry-After": "5"})
    else:
        log.error("request_id=%s unexpected error: %s %s", reference, request.method, request.url.path, exc_info=exc)
        response = pages.error(request, 500, MESSAGES[500])
    response.headers["X-Request-ID"] = reference
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


handlers = {HTTPException: http_error, Exception: server_error}
