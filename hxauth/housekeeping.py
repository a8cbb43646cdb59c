"""Housekeeping: delete expired sessions, link tokens and half-done logins (TOTP), rate-limit hits no window can see any more, and old sent mail.

The app runs `clean_up` every CLEANUP_INTERVAL_SECONDS from its lifespan, outside
any request; `hxauth cleanup` runs it once. Running it from several instances at
once is harmless: each deletes what the others have not yet.

Both deletes use an index (migration 0004) and go in batches: on SQLite a
DELETE holds the one write lock while it runs, and 1,000,000 expired sessions in
one statement held it for about 18 s, past the 5 s busy timeout, so logins and
logouts would have failed meanwhile. A batch of 10,000 held it for at most about
0.5 s, and the pause after each lets waiting writers in. `hxauth cleanup` on
1,000,000 expired sessions took 35 s in all, 15 of them pauses (`bench/cleanup.py`,
2 cores, SQLite 3.40, 2026-12-02). An hourly round normally finds one batch or less.
"""

import asyncio
import contextlib
import logging

from hxauth import account_links, accounts, mail, passkeys, rate_limits, two_factor

BATCH_SIZE = 10_000
# Longer than SQLite's longest busy-handler sleep (100 ms): a writer waiting for the lock gets it.
PAUSE_SECONDS = 0.15
# Sent (or given-up) messages stay in the outbox this long, for /dev/mailbox and for a look after a complaint.
OUTBOX_KEEP_SECONDS = 7 * 24 * 3600

log = logging.getLogger("hxauth")


async def _in_batches(delete) -> int:
    total = 0
    while True:
        deleted = await delete(BATCH_SIZE)
        total += deleted
        if deleted < BATCH_SIZE:
            return total
        await asyncio.sleep(PAUSE_SECONDS)


async def clean_up(state) -> dict[str, int]:
    """Delete what has expired; returns how many of each kind, by a name for the log."""
    longest = rate_limits.longest_window(state.settings)
    return {
        "expired sessions": await _in_batches(lambda size: accounts.delete_expired_sessions(state, size)),
        "old rate-limit records": await _in_batches(lambda size: rate_limits.delete_old(state.db, state.queries, longest, size)),
        "old sent messages": await _in_batches(lambda size: mail.delete_old(state, OUTBOX_KEEP_SECONDS, size)),
        "expired links": await _in_batches(lambda size: account_links.delete_expired_tokens(state, size)),
        "expired half-done logins": await _in_batches(lambda size: two_factor.delete_expired_pending_logins(state, size)),
        "expired passkey challenges": await _in_batches(lambda size: passkeys.delete_expired_challenges(state, size)),
    }


def summary(removed: dict[str, int]) -> str:
    return "removed " + ", ".join(f"{count} {kind}" for kind, count in removed.items())


async def _clean_up_every(state, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            removed = await clean_up(state)
        except Exception:
            log.exception("cleanup failed; trying again in %s s", seconds)
        else:
            log.info("cleanup %s", summary(removed))


@contextlib.asynccontextmanager
async def cleaning_up_every(state, seconds: float):
    """While the app runs, `clean_up` every `seconds` (never if 0) in a background task, stopped at shutdown."""
    if not seconds:
        yield
        return
    task = asyncio.create_task(_clean_up_every(state, seconds), name="hxauth cleanup")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
