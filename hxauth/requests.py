"""What a handler reads about its request beyond Starlette's `Request`: its id, its client, the form FormGuard parsed."""

from starlette.datastructures import FormData
from starlette.requests import Request


def posted_form(request: Request) -> FormData:
    """The submitted form's fields, as FormGuard parsed and checked them (every POST passes through it).

    Like `await request.form()`, a repeated field answers `get` with its last value.
    """
    return request.scope["state"]["form"]


def request_id(request: Request) -> str:
    """The id ResponseHeaders gave this request (X-Request-ID): in log lines and on 5xx pages."""
    return request.scope.get("state", {}).get("request_id", "-")


def client_address(request: Request) -> str:
    """The socket peer, or the forwarded address when the peer is one of TRUSTED_PROXIES (app.py)."""
    return request.client.host if request.client else ""


def over_https(scope) -> bool:
    """Whether the browser reached us over HTTPS (the scheme as TRUSTED_PROXIES' X-Forwarded-Proto tells it):
    then a cookie is `Secure` and named with the `__Host-` prefix (no subdomain or plain-HTTP page can set it)."""
    return scope.get("scheme") in ("https", "wss")


def cookie_name(scope, name: str) -> str:
    """A cookie's name for this request: `__Host-<name>` over HTTPS, else `<name>` (the session's and the device's)."""
    return f"__Host-{name}" if over_https(scope) else name
