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
