"""The audit log: one JSON line per account event (signup, login, lockout, logout).

Lines carry the request id, the client address and the user id where known;
never a password, a session token or a cookie.
"""

import json
import logging

log = logging.getLogger("hxauth.audit")


def client_address(request) -> str:
    """The socket peer, or the forwarded address when uvicorn trusts the proxy (--forwarded-allow-ips)."""
    return request.client.host if request.client else ""


def request_id(request) -> str:
    return request.scope.get("state", {}).get("request_id", "-")


def record(request, event: str, **fields) -> None:
    entry = {"event": event, "request_id": request_id(request), "client": client_address(request), **fields}
    log.info(json.dumps(entry, ensure_ascii=False))
