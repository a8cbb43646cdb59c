"""The cookie side of logging in and out, and `request.user` from the session cookie.

The signed cookie (Starlette's SessionMiddleware) holds one thing: a random
token. hxauth.accounts stores and looks up the sessions behind it.
"""

import secrets

from starlette.authentication import AuthCredentials, AuthenticationBackend
from starlette.requests import HTTPConnection

from hxauth import accounts
from hxauth.accounts import User
from hxauth.requests import client_address

USER_AGENT_MAX_LENGTH = 512  # enough for any real browser's; the rest of a longer one is not kept
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


def browser(connection: HTTPConnection) -> dict:
    """What a new session keeps of the browser that starts it, for the user's list of sessions."""
    return {"user_agent": connection.headers.get("user-agent", "")[:USER_AGENT_MAX_LENGTH], "client_address": client_address(connection)}


async def log_in(connection: HTTPConnection, user: User, *, persistent: bool = False) -> None:
    """Start a server-side session under a brand-new token: a token planted before login (fixation) is useless.

    The row is saved before the cookie changes: if saving fails (a 503), the browser keeps the token its
    open forms were made for, and the same form works once the database is back. `persistent`: "Keep me
    logged in" (a cookie that outlives the browser, and no idle expiry)."""
    token = await accounts.create_session(connection.app.state, user.id, persistent=persistent, **browser(connection))
    use_session(connection, token, persistent=persistent)


def use_session(connection: HTTPConnection, token: str, *, persistent: bool) -> None:
    """This browser's cookie carries `token` from now on, and nothing else of before; SessionCookie gives it a
    Max-Age only if `persistent`."""
    connection.session.clear()
    connection.session["token"] = token
    if persistent:
        connection.session["persistent"] = True


def is_persistent(connection: HTTPConnection) -> bool:
    """This browser's session was started with "Keep me logged in"."""
    return connection.session.get("persistent") is True


async def log_out(connection: HTTPConnection) -> None:
    """Delete the server-side session, so a replayed copy of the old cookie is anonymous, and empty the cookie."""
    token = connection.session.get("token")
    if isinstance(token, str):
        await accounts.delete_session_token(connection.app.state, token)
    connection.session.clear()


class SessionBackend(AuthenticationBackend):
    """The seed's user loader: `request.user` is the user of the session token in the cookie, or anonymous."""

    async def authenticate(self, connection: HTTPConnection):
        token = connection.session.get("token")
        if not isinstance(token, str):
            return None
        user = await accounts.get_user_by_session_token(connection.app.state, token)
        return None if user is None else (LOGGED_IN, user)
