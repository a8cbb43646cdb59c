"""The cookie side of logging in and out, and `request.user` from the session cookie.

The signed cookie (Starlette's SessionMiddleware) holds one thing: a random
token. hxauth.accounts stores and looks up the sessions behind it.
"""

import secrets

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


async def log_in(connection: HTTPConnection, user: User) -> None:
    """Start a server-side session under a brand-new token: a token planted before login (fixation) is useless.

    The row is saved before the cookie changes: if saving fails (a 503), the browser keeps the token its
    open forms were made for, and the same form works once the database is back."""
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
        token = connection.session.get("token")
        if not isinstance(token, str):
            return None
        user = await accounts.get_user_by_session_token(connection.app.state, token)
        return None if user is None else (LOGGED_IN, user)
