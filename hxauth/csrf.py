"""CSRF: the token every form carries, the check FormGuard makes on every post, and `{{ csrf_token }}`.

The token is a MAC of the browser's session token, so it needs no storage and
changes at login and logout. Forms send it as the `csrf_token` field; htmx
also sends it as the `X-CSRF-Token` header (static/app.js).
"""

import hashlib
import hmac

from starlette.requests import HTTPConnection

from hxauth.auth import session_token
from hxauth.settings import derived_key

FIELD = "csrf_token"
HEADER = "x-csrf-token"


def csrf_token(connection: HTTPConnection) -> str:
    """This session's CSRF token.

    Keyed BLAKE2b is a MAC by design and built into Python; HMAC through OpenSSL 3 costs
    three times as much per call, on every page with a form.
    """
    key = derived_key("csrf", connection.app.state.settings.secret_key)
    return hashlib.blake2b(session_token(connection).encode(), key=key, digest_size=32).hexdigest()


def is_valid(connection: HTTPConnection, form: dict) -> bool:
    """The post carries this session's token, in the header or the form field (compared in constant time)."""
    sent = connection.headers.get(HEADER) or form.get(FIELD, "")
    return hmac.compare_digest(sent.encode(), csrf_token(connection).encode())


class TemplateToken:
    """`{{ csrf_token }}`, computed only where a template writes it: on a first visit it issues a session
    token, which a page without a form should not. Computed once per render, however many forms the page
    has (the logged-in home page has two): 14,000 instructions each time."""

    __slots__ = ("connection", "token")

    def __init__(self, connection: HTTPConnection):
        self.connection = connection
        self.token = None

    def __str__(self) -> str:
        if self.token is None:
            self.token = csrf_token(self.connection)
        return self.token

    __html__ = __str__  # what Jinja's autoescape calls; the token is hex, nothing to escape
