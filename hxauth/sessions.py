"""The sessions a user sees on the settings page: each live one with its device, and ending one or all others.

A session is a row (hxauth.accounts starts them at login): deleting it logs that
browser out at once, on every instance. Forms name a session by its `id`, never by
its token hash.
"""

import dataclasses
import datetime
import functools
import re
import time

import ua_parser

from hxauth.tokens import hash_token

SESSION_ID = re.compile(r"[0-9a-f]{32}")  # accounts.create_session's secrets.token_hex(16), and migration 0007's


@dataclasses.dataclass(frozen=True)
class Session:
    """One live session, as the list shows it."""

    id: str
    device: str  # "Firefox 120 on Ubuntu"
    client_address: str
    started: datetime.datetime
    last_active: datetime.datetime
    persistent: bool  # "Keep me logged in"
    is_current: bool  # this browser's


@functools.lru_cache(maxsize=1024)
def device(user_agent: str) -> str:
    """The browser and system a User-Agent names, in words ("Chrome 120 on Linux"), read by ua-parser."""
    parsed = ua_parser.parse(user_agent)
    browser = parsed.user_agent and " ".join(part for part in (parsed.user_agent.family, parsed.user_agent.major) if part)
    system = parsed.os and " ".join(part for part in (parsed.os.family, parsed.os.major) if part)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"


def _when(epoch: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC)


async def list_sessions(state, user_id: int, token: str) -> list[Session]:
    """Every live session of the user, this browser's (`token`) first, then the most recently active."""
    now, settings = int(time.time()), state.settings
    values = {
        "user_id": user_id, "token_hash": hash_token(token),
        "created_after": now - settings.session_max_seconds, "seen_after": now - settings.session_idle_seconds,
    }
    rows = await state.db.fetch_all(state.queries.list_user_sessions, values)
    return [
        Session(
            id=row["id"], device=device(row["user_agent"]), client_address=row["client_address"],
            started=_when(row["created_at"]), last_active=_when(row["last_seen_at"]),
            persistent=bool(row["persistent"]), is_current=bool(row["is_current"]),
        )
        for row in rows
    ]


async def end_session(state, user_id: int, session_id: str, token: str) -> bool:
    """Log out one other session of the user; False if there is none such (ended already, or not theirs)."""
    if not SESSION_ID.fullmatch(session_id):
        return False  # no id of ours (and PostgreSQL refuses some text, such as NUL, in a query)
    values = {"id": session_id, "user_id": user_id, "token_hash": hash_token(token)}
    return await state.db.execute(state.queries.delete_other_session, values) > 0


async def end_other_sessions(state, user_id: int, token: str) -> int:
    """Log out every session of the user but this browser's (`token`); returns how many ended."""
    values = {"user_id": user_id, "token_hash": hash_token(token)}
    return await state.db.execute(state.queries.delete_other_sessions, values)
