"""The cookie side of logging in and out, and `request.user` from the session cookie.

The signed cookie (Starlette's SessionMiddleware) holds one thing: a random
token. hxauth.accounts stores and looks up the sessions behind it.
"""

import functools
import hashlib
import secrets

from itsdangerous import TimestampSigner
from itsdangerous.signer import SigningAlgorithm
from starlette.authentication import AuthCredentials, AuthenticationBackend
from starlette.requests import HTTPConnection

from hxauth import accounts
from hxauth.accounts import User

LOGGED_IN = AuthCredentials(["authenticated"])  # request.auth of every logged-in request (nothing changes it)


def session_token(connection: HTTPConnection) -> str:
    """This browser's token: its login session's, else an anonymous one issued on first need.

    The CSRF token derives from it. Only a login token (`token`) is looked up in
    the database; an anonymous visitor's (`anonymous`) never is, so anonymous pages
    cost no query.
    """
    session = connection.session
    for key in ("token", "anonymous"):
        token = session.get(key)
        if isinstance(token, str) and len(token) == 43:
            return token
    token = session["anonymous"] = secrets.token_urlsafe(32)
    return token


def csrf_token(connection: HTTPConnection) -> str:
    """A per-session CSRF token: a MAC of the session token, so it needs no storage and changes at login.

    Keyed BLAKE2b is a MAC by design and built into Python; HMAC through OpenSSL 3 costs
    three times as much per call, on every page with a form.
    """
    key = derived_key("csrf", connection.app.state.settings.secret_key)
    return hashlib.blake2b(session_token(connection).encode(), key=key, digest_size=32).hexdigest()


@functools.cache
def derived_key(purpose: str, secret_key: str) -> bytes:
    """A key of the secret key's for one purpose only (CSRF tokens, session cookies), derived once.

    64 bytes, the most BLAKE2b takes: SHA-512 of the secret, however long the secret.
    """
    return hashlib.sha512(f"hxauth {purpose}:{secret_key}".encode()).digest()


class Blake2bSignature(SigningAlgorithm):
    """itsdangerous' signature as keyed BLAKE2b. Its default, HMAC-SHA1 through Python's `hmac` with the key
    derived again on every call, took 18 µs here to check a logged-in visitor's cookie (this: 7)."""

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hashlib.blake2b(value, key=key, digest_size=32).digest()


def cookie_signer(secret_key: str) -> TimestampSigner:
    """The session cookie's signer: a timestamped BLAKE2b MAC under a key used for nothing else."""
    return TimestampSigner(derived_key("session", secret_key), key_derivation="none", algorithm=Blake2bSignature())


async def log_in(connection: HTTPConnection, user: User) -> None:
    """Start a server-side session under a brand-new token: a token planted before login (fixation) is useless."""
    token = await accounts.create_session(connection.app.state, user.id)
    connection.session.clear()
    connection.session["token"] = token


async def log_out(connection: HTTPConnection) -> None:
    """Delete the server-side session, so a replayed copy of the old cookie is anonymous, and empty the cookie."""
    token = connection.session.get("token")
    if isinstance(token, str):
        await accounts.delete_session_token(connection.app.state, token)
    connection.session.clear()


class SessionBackend(AuthenticationBackend):
    """The seed's user loader: `request.user` is the user of the session token in the cookie, or anonymous."""

    async def authenticate(self, connection: HTTPConnection):
        if connection.scope["path"].startswith("/static/"):
            return None  # files are the same for everyone: no session lookup
        token = connection.session.get("token")
        if not isinstance(token, str):
            return None
        user = await accounts.get_user_by_session_token(connection.app.state, token)
        return None if user is None else (LOGGED_IN, user)
