"""Argon2id hashing off the event loop, and the NIST SP 800-63B password rules."""

import contextlib
import functools
import secrets
import unicodedata

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# Long passphrases are welcome; the cap only keeps one request from costing a
# megabyte of hashing input. Nothing is ever truncated.
MAX_LENGTH = 1024


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords, as shipped by the zxcvbn package."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def normalize(password: str) -> str:
    """NFKC, as SP 800-63B asks, so the same passphrase typed on two keyboards matches.

    The one form of a password: the rules judge it, the hash is of it, a login verifies it. (Hashes have been
    of this form since the first release, so no stored hash is of another and no second verify is needed.)
    """
    return unicodedata.normalize("NFKC", password)


def too_long(password: str) -> bool:
    """Over the cap once normalised (composing accents shortens a password; what the rules allow, login takes)."""
    return len(normalize(password)) > MAX_LENGTH


def password_problem(password: str, min_length: int, *, name: str = "", email: str = "") -> str | None:
    """What is wrong with a new password, in words for the person choosing it; None if fine.

    Judged in its normalised form, the one that is hashed: "ｐａｓｓｗｏｒｄ" in fullwidth is "password".
    """
    password = normalize(password)
    if len(password) < min_length:
        return f"Use at least {min_length} characters; a few words together make a good one."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in common_passwords() or lowered in (normalize(name).strip().lower(), normalize(email).strip().lower()):
        return "This password is too common or easy to guess; choose another."
    return None


class Busy(Exception):
    """No room to hash for this request now (Hasher.slot): refused at once, before any hashing."""

    status_code, retry_after, message = 503, 5, "The site is busy. Please try again in a few seconds."


class ClientBusy(Busy):
    """This client already has its share of hashes queued or running."""

    status_code, retry_after, message = 429, 1, "Too many requests from your address at once. Wait a moment and try again."


class Hasher:
    """argon2-cffi's PasswordHasher, run in worker threads, at most `concurrency` at once.

    A request that hashes takes a `slot(client)` first: a client may hold `per_client` at once, everyone
    together `queue_limit`, so a flood from a few addresses waits in its own short line (or is refused)
    instead of delaying every other login by seconds, and what waits stays bounded.
    """

    def __init__(self, time_cost: int, memory_kib: int, parallelism: int, concurrency: int, *,
                 per_client: int = 2, queue_limit: int = 64):
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._dummy_hash: str | None = None
        self.per_client, self.queue_limit = per_client, queue_limit
        self._slots: dict[str, int] = {}  # client -> slots held; one event loop, so no lock
        self._held = 0

    @contextlib.asynccontextmanager
    async def slot(self, client: str):
        """Room for one request's hashing; raises ClientBusy (429) or Busy (503) when there is none."""
        if self._held >= self.queue_limit:
            raise Busy()
        if self._slots.get(client, 0) >= self.per_client:
            raise ClientBusy()
        self._slots[client] = self._slots.get(client, 0) + 1
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            self._slots[client] -= 1
            if not self._slots[client]:
                del self._slots[client]

    async def _run(self, function, *args):
        return await anyio.to_thread.run_sync(function, *args, limiter=self._limiter)

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, normalize(password))

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether `password` matches. A failure against a hash made with older, cheaper parameters also spends
        a verify at the current ones: else a wrong password for such an account answers faster than an unknown
        email, and tells that the account exists."""
        try:
            return await self._run(self._hasher.verify, password_hash, normalize(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            if self.needs_rehash(password_hash):
                await self.verify_nobody(password)
            return False

    async def verify_nobody(self, password: str) -> None:
        """Spend what a real verify costs, so an unknown email takes as long as a wrong password."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:  # not an Argon2 hash at all: replace it (it can never verify anyway)
            return True
