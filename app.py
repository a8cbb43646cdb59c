"""hxauth, the table of contents: settings, database, lifespan, middleware, routes."""

import contextlib
import logging
import sys
import types

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.exceptions import HTTPException
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Mount, Router
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hxauth import errors, housekeeping, mail, pages
from hxauth.auth import SessionBackend
from hxauth.database import open_database, wait_for_database
from hxauth.migrations import migrate
from hxauth.middleware import ExpectedHost, FormGuard, ResponseHeaders, SessionCookie, StaticFirst
from hxauth.passwords import Hasher
from hxauth.queries import Queries
from hxauth.settings import ROOT, ConfigError, Settings
from routes import routes

HTMX = ROOT / "node_modules" / "htmx.org" / "dist"
# @simplewebauthn/browser's ES module build, which static/passkeys.js imports.
SIMPLEWEBAUTHN = ROOT / "node_modules" / "@simplewebauthn" / "browser" / "esm"


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_environ()
    _log_to_stderr()
    if not HTMX.is_dir():
        raise ConfigError("htmx is not installed: run `npm ci` (make run does it for you)")
    if not SIMPLEWEBAUTHN.is_dir():
        raise ConfigError("@simplewebauthn/browser is not installed: run `npm ci` (make run does it for you)")
    pages.environment.auto_reload = settings.env == "development" or settings.debug  # see a template's edit at once
    db = open_database(settings.database_url, timeout=settings.database_timeout, pool_size=settings.database_pool_size)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await wait_for_database(db, settings.database_wait_seconds)
        try:
            await migrate(db)
            async with housekeeping.cleaning_up_every(app.state, settings.cleanup_interval_seconds), mail.sending(app.state):
                yield
        finally:
            await db.disconnect()

    # Every response gets ResponseHeaders; static files (the same for everyone) skip the session; a database
    # fault in the session stack (the user lookup) is the same 503 page as one in a route (errors.FaultPages).
    static = Router([
        Mount("/static/htmx", StaticFiles(directory=HTMX), name="htmx"),
        Mount("/static/simplewebauthn", StaticFiles(directory=SIMPLEWEBAUTHN), name="simplewebauthn"),
        Mount("/static", StaticFiles(directory=ROOT / "static"), name="static"),
    ])
    static = ExceptionMiddleware(static, handlers={HTTPException: errors.http_error})  # a missing file: the 404 page
    # The client address and scheme from X-Forwarded-For/-Proto, when the peer is a proxy in TRUSTED_PROXIES (and
    # only then: uvicorn's own trust is off, --no-proxy-headers); first, so every layer sees them.
    proxies = [Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)] if settings.trusted_proxies else []
    hosts = [Middleware(ExpectedHost, base_url=settings.base_url)] if settings.env == "production" else []
    app = Starlette(
        debug=settings.debug,
        routes=routes,
        middleware=[
            *proxies,
            Middleware(ResponseHeaders),
            *hosts,
            Middleware(StaticFirst, static=static),
            Middleware(errors.FaultPages),
            Middleware(SessionCookie, secret_key=settings.secret_key, max_age=settings.session_max_seconds),
            Middleware(AuthenticationMiddleware, backend=SessionBackend()),
            Middleware(FormGuard, body_seconds=settings.form_body_seconds),
        ],
        exception_handlers=errors.handlers,
        lifespan=lifespan,
    )
    # The app's services as plain attributes rather than in Starlette's State, which keeps them in a dict behind
    # __getattr__: Python calls that only after the ordinary look-up has failed, raising and formatting an
    # AttributeError (about 5,000 instructions a look-up; a logged-in page makes four). Set anything on it, as on State.
    app.state = types.SimpleNamespace()
    app.state.settings = settings
    app.state.db = db
    app.state.queries = Queries()
    app.state.hasher = Hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism, settings.hash_concurrency,
        per_client=settings.hash_per_client, queue_limit=settings.hash_queue_limit,
    )
    return app


def _log_to_stderr():
    """hxauth's own lines (audit, faults) beside uvicorn's, unless logging is already configured."""
    logger = logging.getLogger("hxauth")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


try:
    app = create_app()
except ConfigError as error:
    sys.exit(f"hxauth: {error}")
