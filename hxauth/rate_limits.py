"""Sliding-window limits kept in the database, so every app instance counts the same events."""

import hashlib
import random
import time


def bucket(kind: str, *parts: str) -> str:
    """A bucket name; emails and addresses are hashed so the table holds no personal data."""
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
    return f"{kind}:{digest}"


async def retry_after(db, queries, name: str, limit: int, window: int) -> int | None:
    """Seconds until the bucket is under its limit again, or None if it is under now."""
    now = int(time.time())
    row = await db.fetch_one(queries.count_rate_limit_hits, {"bucket": name, "since": now - window})
    if row["hits"] < limit:
        return None
    return max(1, row["oldest"] + window - now)


async def hit(db, queries, name: str, longest_window: int) -> None:
    now = int(time.time())
    await db.execute(queries.insert_rate_limit_hit, {"bucket": name, "now": now})
    if random.random() < 0.01:  # now and then, forget what no window can see any more
        await delete_old(db, queries, longest_window)


async def delete_old(db, queries, longest_window: int) -> int:
    """Forget events older than every window; returns how many."""
    before = int(time.time()) - longest_window
    return len(await db.fetch_all(queries.delete_old_rate_limit_hits, {"before": before}))


async def clear(db, queries, name: str) -> None:
    await db.execute(queries.delete_rate_limit_hits, {"bucket": name})
