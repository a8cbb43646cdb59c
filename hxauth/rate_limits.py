"""Sliding-window limits kept in the database, so every app instance counts the same events.

An attempt is counted before it is judged (`attempt`): its hit is inserted
first, then the window is counted, hit included. Each attempt's count then
includes every hit inserted before its own, so of any number of simultaneous
attempts at most `limit` see a count within the limit. A check first and a hit
after the (slow) password check would let parallel guesses all through.
"""

import hashlib
import time
from typing import NamedTuple


class TooManyAttempts(Exception):
    """A limit refused the attempt; `retry_after` seconds from now one more is allowed. `lockouts`: what this
    refusal is the first to lock out in its window ("account", "device", "codes"; see Limit.lockout), for the audit log."""

    def __init__(self, retry_after: int, lockouts: tuple[str, ...] = ()):
        super().__init__(f"try again in {retry_after} s")
        self.retry_after = retry_after
        self.lockouts = lockouts


class Limit(NamedTuple):
    bucket: str  # e.g. "login:<hash of email and client>"
    limit: int  # events allowed...
    window: int  # ...in this many seconds
    lockout: str | None = None  # what a refusal locks out ("account"): the first refusal in a window says so


class Attempt(NamedTuple):
    hit_ids: list[int]  # this attempt's hits, one per limit
    retry_after: int | None  # seconds to wait if refused (its hits are then already taken back), else None
    lockouts: tuple[str, ...] = ()  # the `lockout` of each limit this refusal is the first of its window to meet


def _bucket(kind: str, *parts: str) -> str:
    """A bucket name; emails and addresses are hashed so the table holds no personal data."""
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
    return f"{kind}:{digest}"


def login_limits(settings, email: str, client: str, device: str | None = None) -> list[Limit]:
    """Failed logins per account and client (guessing one password), per client (spraying many accounts), and
    per account from everywhere (one account guessed from many addresses: a botnet, an IPv6 /64).

    The account-wide limit is keyed by the email whether or not an account has it, so a refusal tells nothing.
    `device`: the nonce of a valid device cookie for this account (hxauth.devices). Its attempts are held to
    that device's limit only: the owner's browser is not locked out by a guesser elsewhere, whether the guesser
    shares the account's limit or the owner's address (an office, a cafe), and a stolen device cookie buys no
    more guesses than the device limit.
    """
    if device:
        return [Limit(_bucket("login-device", device), settings.login_device_limit, settings.login_device_window, "device")]
    return [
        Limit(_bucket("login", email, client), settings.login_account_limit, settings.login_account_window),
        Limit(_bucket("login-client", client), settings.login_client_limit, settings.login_client_window),
        Limit(_bucket("login-account", email), settings.login_account_wide_limit, settings.login_account_wide_window, "account"),
    ]


def signup_limits(settings, client: str) -> list[Limit]:
    return [Limit(_bucket("signup", client), settings.signup_limit, settings.signup_window)]


def reset_limits(settings, email: str, client: str) -> list[Limit]:
    """Reset requests per address (so nobody's inbox is flooded) and per client (so no one sprays addresses)."""
    return [
        Limit(_bucket("reset", email), settings.reset_email_limit, settings.reset_email_window),
        Limit(_bucket("reset-client", client), settings.reset_client_limit, settings.reset_client_window),
    ]


def confirm_limits(settings, user_id: int, client: str) -> list[Limit]:
    """Confirmation links sent again, per user and per client."""
    return [
        Limit(_bucket("confirm", str(user_id)), settings.confirm_resend_limit, settings.confirm_resend_window),
        Limit(_bucket("confirm-client", client), settings.confirm_client_limit, settings.confirm_client_window),
    ]


def email_change_user_limit(settings, user_id: int) -> Limit:
    return Limit(_bucket("email-change", str(user_id)), settings.email_change_limit, settings.email_change_window)


def email_change_limits(settings, user_id: int, client: str) -> list[Limit]:
    """Changes of email asked for, per user and per client: each mails two addresses, and its answer says whether
    another account has the new one, so the limit is counted before that is looked up."""
    return [
        email_change_user_limit(settings, user_id),
        Limit(_bucket("email-change-client", client), settings.email_change_client_limit, settings.email_change_client_window),
    ]


def two_factor_limits(settings, user_id: int, client: str) -> list[Limit]:
    """Wrong second-factor codes per account, from any client (whoever tries one knows the password: a million
    codes must not be theirs to try), and per client."""
    return [
        Limit(_bucket("two-factor", str(user_id)), settings.two_factor_account_limit, settings.two_factor_account_window, "codes"),
        Limit(_bucket("two-factor-client", client), settings.two_factor_client_limit, settings.two_factor_client_window),
    ]
def passkey_login_limits(settings, client: str) -> list[Limit]:
    """Failed passkey logins per client (no email is typed, so there is no account to key them by)."""
    return [Limit(_bucket("passkey-login", client), settings.passkey_failure_limit, settings.passkey_failure_window)]


def passkey_challenge_limits(settings, client: str) -> list[Limit]:
    """WebAuthn challenges made per client: each is a row until it is used or expires."""
    return [Limit(_bucket("passkey-challenge", client), settings.passkey_challenge_limit, settings.passkey_challenge_window)]


def longest_window(settings) -> int:
    """How long any hit can matter: older ones are deleted by the cleanup."""
    return max(
        settings.login_account_window, settings.login_client_window, settings.signup_window,
        settings.login_account_wide_window, settings.login_device_window,
        settings.reset_email_window, settings.reset_client_window,
        settings.confirm_resend_window, settings.confirm_client_window,
        settings.email_change_window, settings.email_change_client_window,
        settings.two_factor_account_window, settings.two_factor_client_window,
        settings.passkey_failure_window, settings.passkey_challenge_window,
    )


async def attempt(db, queries, limits: list[Limit]) -> Attempt:
    """Count one attempt against every limit, then compare; a refused attempt is taken back, so waiting
    out the given time is enough (hammering during a lockout does not extend it)."""
    now, hit_ids, waits, over = int(time.time()), [], [], []
    for limit in limits:
        hit_ids.append(await db.fetch_val(queries.insert_rate_limit_hit, {"bucket": limit.bucket, "now": now}))
        row = await db.fetch_one(queries.count_rate_limit_hits, {"bucket": limit.bucket, "since": now - limit.window})
        if row["hits"] > limit.limit:
            waits.append(max(1, row["oldest"] + limit.window - now))
            over.append(limit)
    if not waits:
        return Attempt(hit_ids, None)
    await forget(db, queries, hit_ids)
    lockouts = tuple([limit.lockout for limit in over if limit.lockout and await _first_refusal(db, queries, limit)])
    return Attempt([], max(waits), lockouts)


async def _first_refusal(db, queries, limit: Limit) -> bool:
    """Whether this is the first refusal by `limit` in a window: the one that takes the bucket's marker (a limit
    of one, counted first like any hit), so of simultaneous refusals exactly one is first."""
    kind, digest = limit.bucket.split(":", 1)
    marker = Limit(f"{kind}-locked:{digest}", 1, limit.window)
    return (await attempt(db, queries, [marker])).retry_after is None


async def allow(db, queries, limits: list[Limit]) -> None:
    """`attempt` for an action that is never taken back: raises TooManyAttempts when over a limit."""
    counted = await attempt(db, queries, limits)
    if counted.retry_after:
        raise TooManyAttempts(counted.retry_after, counted.lockouts)


async def forget(db, queries, hit_ids: list[int]) -> None:
    """Take back an attempt's hits (one that turned out not to count, such as a successful login)."""
    for hit_id in hit_ids:
        await db.execute(queries.delete_rate_limit_hit, {"id": hit_id})


async def clear(db, queries, limit: Limit) -> None:
    await db.execute(queries.delete_rate_limit_hits, {"bucket": limit.bucket})


async def delete_old(db, queries, longest_window: int, batch_size: int) -> int:
    """Forget up to `batch_size` events older than every window; returns how many."""
    before = int(time.time()) - longest_window
    return await db.execute(queries.delete_old_rate_limit_hits, {"before": before, "batch_size": batch_size})
