"""Logging in and out, and finding the user behind a request's session cookie.

The signed cookie (Starlette's SessionMiddleware) holds one thing: a random
token. The server keeps only its SHA-256 in the sessions table, so a stolen
database cannot be replayed as cookies, and deleting the row ends the session
wherever the cookie has been copied to.
"""

import functools
import hashlib
import random
import secrets
import time

from itsdangerous import TimestampSigner
from itsdangerous.signer import SigningAlgorithm
from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.requests import HTTPConnection

from hxauth.accounts import User

LOGGED_IN = AuthCredentials(["authenticated"])  # request.auth of every logged-in request (nothing changes it)
# Touch last_seen_at at most this often: the idle expiry needs no write per request.
TOUCH_INTERVAL = 60


class AuthenticatedUser(BaseUser):
    """`request.user` for a live session: the user's id, name and email, as the session query returns them."""

    def __init__(self, id: int, name: str, email: str):
        self.id, self.name, self.email = id, name, email

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def identity(self) -> str:
        return str(self.id)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
    state = connection.app.state
    connection.session.clear()
    token = connection.session["token"] = secrets.token_urlsafe(32)
    await state.db.execute(state.queries.insert_session, {"token_hash": _hash(token), "user_id": user.id, "now": int(time.time())})
    if random.random() < 0.01:  # now and then, so the table does not grow without `hxauth cleanup`
        await delete_expired_sessions(state.db, state.queries, state.settings)


async def delete_expired_sessions(db, queries, settings) -> int:
    """Remove sessions past their idle or absolute expiry; returns how many."""
    now = int(time.time())
    values = {"created_before": now - settings.session_max_seconds, "seen_before": now - settings.session_idle_seconds}
    return len(await db.fetch_all(queries.delete_expired_sessions, values))


async def log_out(connection: HTTPConnection) -> None:
    """Delete the server-side session, so a replayed copy of the old cookie is anonymous, and empty the cookie."""
    state = connection.app.state
    token = connection.session.get("token")
    if isinstance(token, str):
        await state.db.execute(state.queries.delete_session, {"token_hash": _hash(token)})
    connection.session.clear()


class SessionBackend(AuthenticationBackend):
    """The seed's user loader: resolves `request.user` from the session token, in one query."""

    async def authenticate(self, connection: HTTPConnection):
        if connection.scope["path"].startswith("/static/"):
            return None  # files are the same for everyone: no session lookup
        token = connection.session.get("token")
        if not isinstance(token, str):
            return None
        state = connection.app.state
        settings, now = state.settings, int(time.time())
        token_hash = _hash(token)
        row = await state.db.fetch_one(
            state.queries.get_session_user,
            {
                "token_hash": token_hash,
                "created_after": now - settings.session_max_seconds,
                "seen_after": now - settings.session_idle_seconds,
            },
        )
        if row is None:
            return None
        if now - row["last_seen_at"] >= TOUCH_INTERVAL:
            await state.db.execute(state.queries.touch_session, {"token_hash": token_hash, "now": now})
        return LOGGED_IN, AuthenticatedUser(row["id"], row["name"], row["email"])

