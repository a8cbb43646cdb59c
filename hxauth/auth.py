"""Logging in and out, and finding the user behind a request's session cookie.

The signed cookie (Starlette's SessionMiddleware) holds one thing: a random
token. The server keeps only its SHA-256 in the sessions table, so a stolen
database cannot be replayed as cookies, and deleting the row ends the session
wherever the cookie has been copied to.
"""

import hashlib
import random
import secrets
import time

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

