"""Probes for load balancers and orchestrators."""

import logging

from starlette.responses import PlainTextResponse
from starlette.routing import Route

from hxauth.migrations import pending_migrations

log = logging.getLogger("hxauth")


async def healthz(request):
    """The process is alive (no database work, so a slow database does not get it restarted)."""
    return PlainTextResponse("ok")


async def readyz(request):
    """Ready for traffic: the database answers and every migration is applied."""
    try:
        pending = await pending_migrations(request.app.state.db)
    except Exception as error:  # unreachable, or no schema_migrations table yet: not ready, whatever the cause
        log.warning("not ready: %r", error)
        return PlainTextResponse("database unreachable or not migrated", status_code=503)
    if pending:
        return PlainTextResponse("migrations pending: " + ", ".join(pending), status_code=503)
    return PlainTextResponse("ready")


routes = [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
