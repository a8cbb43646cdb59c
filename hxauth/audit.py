"""The audit log: one JSON line per account event (signup, login, lockout, logout).

Lines carry the request id, the client address and the user id where known;
never a password, a session token or a cookie.
"""

import json
import logging

from hxauth.requests import client_address, request_id

log = logging.getLogger("hxauth.audit")


def record(request, event: str, **fields) -> None:
    entry = {"event": event, "request_id": request_id(request), "client": client_address(request), **fields}
    log.info(json.dumps(entry, ensure_ascii=False))


def record_lockouts(request, locked, **fields) -> None:
    """`login.account_locked` / `login.device_locked` / `login.codes_locked` when a refused login
    (rate_limits.TooManyAttempts) starts a lock-out, once a window: an operator sees an account guessed at from
    many addresses, a device cookie failing, or codes guessed by someone who has the password."""
    for lockout in locked.lockouts:
        record(request, f"login.{lockout}_locked", retry_after=locked.retry_after, **fields)
