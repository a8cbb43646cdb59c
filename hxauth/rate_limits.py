"""Sliding-window limits kept in the database, so every app instance counts the same events."""

import hashlib
import random
import time
from typing import NamedTuple


class Limit(NamedTuple):
    bucket: str  # e.g. "login:<hash of email and client>"
    limit: int  # events allowed...
    window: int  # ...in this many seconds


def _bucket(kind: str, *parts: str) -> str:
    """A bucket name; emails and addresses are hashed so the table holds no personal data."""
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
    return f"{kind}:{digest}"


def login_limits(settings, email: str, client: str) -> list[Limit]:
    """Failed logins per account and client (guessing one password), then per client (spraying many accounts).

    Keyed by client too, so an attacker elsewhere cannot lock the owner out.
    """
    return [
        Limit(_bucket("login", email, client), settings.login_account_limit, settings.login_account_window),
        Limit(_bucket("login-client", client), settings.login_client_limit, settings.login_client_window),
    ]


def signup_limits(settings, client: str) -> list[Limit]:
    return [Limit(_bucket("signup", client), settings.signup_limit, settings.signup_window)]


async def retry_after(db, queries, limits: list[Limit]) -> int | None:
    """Seconds until every limit allows one more event, or None if they all do now."""
    now, waits = int(time.time()), []
    for limit in limits:
        row = await db.fetch_one(queries.count_rate_limit_hits, {"bucket": limit.bucket, "since": now - limit.window})
        if row["hits"] >= limit.limit:
            waits.append(max(1, row["oldest"] + limit.window - now))
    return max(waits, default=None)


async def hit(db, queries, limits: list[Limit]) -> None:
    """Count one event against each limit."""
    now = int(time.time())
    for limit in limits:
        await db.execute(queries.insert_rate_limit_hit, {"bucket": limit.bucket, "now": now})
    if random.random() < 0.01:  # now and then, forget what no window can see any more
        await delete_old(db, queries, max(limit.window for limit in limits))


async def clear(db, queries, limit: Limit) -> None:
    await db.execute(queries.delete_rate_limit_hits, {"bucket": limit.bucket})


async def delete_old(db, queries, longest_window: int) -> int:
    """Forget events older than every window; returns how many."""
    before = int(time.time()) - longest_window
    return len(await db.fetch_all(queries.delete_old_rate_limit_hits, {"before": before}))
