"""Probes for load balancers and orchestrators."""

from starlette.responses import PlainTextResponse
from starlette.routing import Route

from hxauth.database import is_database_fault, pending_migrations


async def healthz(request):
    """The process is alive (no database work, so a slow database does not get it restarted)."""
    return PlainTextResponse("ok")


async def readyz(request):
    """Ready for traffic: the database answers and every migration is applied."""
    try:
        pending = await pending_migrations(request.app.state.db)
    except Exception as error:
        if not is_database_fault(error) and "schema_migrations" not in str(error):
            raise
        return PlainTextResponse("database unreachable or not migrated", status_code=503)
    if pending:
        return PlainTextResponse("migrations pending: " + ", ".join(pending), status_code=503)
    return PlainTextResponse("ready")


routes = [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
