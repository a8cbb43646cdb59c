"""Two-factor authentication: TOTP (RFC 6238, pyotp) with recovery codes, and the login half done between them.

Turning it on: `start_setup` stores a new secret (encrypted, not on yet) that Settings shows as a QR code and
as text; `enable` turns it on with the first correct code and returns ten recovery codes, shown once.
Logging in with it on: a correct password makes no session but a pending login (`start_login`, a row for
TWO_FACTOR_LOGIN_SECONDS whose token the browser holds); `log_in_with_code` ends it with a code from the app
or an unused recovery code, and the route then calls routes.accounts.finish_login like every login.

Secrets: AES-GCM under a key derived from SECRET_KEY with HKDF-SHA256 for this purpose only, a random 96-bit
nonce per encryption and the user id as associated data (a row copied to another user does not decrypt).
Older keys in SECRET_KEY_FALLBACKS still decrypt, and a secret read with one is encrypted again under
SECRET_KEY when its code is accepted. Neither a secret nor a code is ever logged or audited.
"""

import base64
import dataclasses
import datetime
import functools
import hashlib
import hmac
import os
import secrets
import time

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hxauth import mail, rate_limits
from hxauth.accounts import User
from hxauth.faults import is_unique_violation
from hxauth.rate_limits import TooManyAttempts
from hxauth.tokens import hash_token, new_token

STEP_SECONDS = 30  # RFC 6238's time step, what every authenticator app uses
DRIFT_STEPS = 1  # a code of the step before or after the present one is accepted too (a phone's clock is off a little)
RECOVERY_CODE_COUNT = 10
# Crockford's base32 (no i, l, o or u: nothing to misread); 16 characters are 80 random bits.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_CODE_LENGTH = 16
CODE_MAX_LENGTH = 64  # longer input is no code of ours, answered without looking further
SECRET_VERSION = "v1"  # the stored form: "v1:" + base64 of nonce and ciphertext


class WrongCode(Exception):
    """The code is not a current one of the app (or was used already), nor an unused recovery code."""


class LoginExpired(Exception):
    """This browser has no live pending login: it took too long, was used, or never was."""


@dataclasses.dataclass(frozen=True)
class Status:
    """What Settings shows: "off", "pending" (the secret shown, waiting for its first code) or "on"."""

    state: str
    enabled_at: datetime.datetime | None = None
    codes_left: int = 0
    secret: str = ""  # only while pending: the base32 secret, in groups of four for typing
    qr_code: str = ""  # only while pending: a data: URI of the otpauth:// URI's QR code, an SVG
    qr_size: int = 0


@dataclasses.dataclass(frozen=True)
class PendingLogin:
    user: User
    next_url: str
    persistent: bool
    expired: bool


# The secret, encrypted.


@functools.cache
def _key(secret_key: str) -> bytes:
    """The AES-256 key of one SECRET_KEY, for TOTP secrets only (HKDF's info names the purpose)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hxauth totp secret v1")
    return hkdf.derive(secret_key.encode())


def _fallback_keys(settings) -> list[str]:
    return [key.strip() for key in settings.secret_key_fallbacks.split(",") if key.strip()]


def encrypt_secret(settings, user_id: int, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(settings.secret_key)).encrypt(nonce, secret.encode(), str(user_id).encode())
    return f"{SECRET_VERSION}:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_secret(settings, user_id: int, stored: str) -> tuple[str | None, bool]:
    """The secret and whether it was sealed under SECRET_KEY itself (False: an older key, or none works).
    None if no key opens it (a SECRET_KEY changed without keeping the old one in SECRET_KEY_FALLBACKS)."""
    version, _, data = stored.partition(":")
    if version != SECRET_VERSION:
        return None, False
    raw = base64.urlsafe_b64decode(data)
    nonce, sealed = raw[:12], raw[12:]
    for index, key in enumerate([settings.secret_key, *_fallback_keys(settings)]):
        try:
            return AESGCM(_key(key)).decrypt(nonce, sealed, str(user_id).encode()).decode(), index == 0
        except InvalidTag:
            continue
    return None, False


# Codes.


def clean_code(text: str) -> str:
    """What was typed, without the spaces and dashes people add, lower-cased."""
    if len(text) > CODE_MAX_LENGTH:
        return ""
    return "".join(text.split()).replace("-", "").lower()


def is_totp_code(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step (within one of `now`'s either way) whose code `code` is, else None. Compared in constant time."""
    if not is_totp_code(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    present = totp.timecode(now)
    found = None
    for step in range(present - DRIFT_STEPS, present + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def new_recovery_codes() -> list[str]:
    """Ten codes like 7k2m-9xqp-4hvd-1tce: 80 random bits each."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        code = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append("-".join(code[i:i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)))
    return codes


def recovery_code_hash(user_id: int, code: str) -> str:
    """SHA-256 of the user id and the code as typed once cleaned (o read as 0, i and l as 1).

    A fast hash is enough here, unlike for passwords: the codes are 80 random bits, which no one can try out
    of a copied table, however fast the hash. It needs no key either, so the codes outlive a new SECRET_KEY."""
    code = clean_code(code).translate(str.maketrans("oil", "011"))
    return hashlib.sha256(f"hxauth recovery code:{user_id}:{code}".encode()).hexdigest()


def _looks_like_recovery_code(code: str) -> bool:
    code = code.translate(str.maketrans("oil", "011"))
    return len(code) == RECOVERY_CODE_LENGTH and all(c in RECOVERY_ALPHABET for c in code)


def provisioning_uri(settings, user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code: the issuer and the user's email."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=user.email, issuer_name=settings.two_factor_issuer)


def qr_code(uri: str) -> tuple[str, int]:
    """The QR code of `uri` as an SVG data: URI (made here, no script, no request), and its width in pixels."""
    code = segno.make(uri, error="m")
    scale = 4
    return code.svg_data_uri(scale=scale, dark="#000", light="#fff"), code.symbol_size(scale=scale)[0]


# Settings: turning it on and off, recovery codes.


async def is_on(state, user_id: int) -> bool:
    row = await state.db.fetch_one(state.queries.get_two_factor, {"user_id": user_id})
    return row is not None and row["enabled_at"] is not None


async def status(state, user: User) -> Status:
    row = await state.db.fetch_one(state.queries.get_two_factor, {"user_id": user.id})
    if row is None:
        return Status("off")
    if row["enabled_at"] is not None:
        left = await state.db.fetch_val(state.queries.count_recovery_codes, {"user_id": user.id})
        enabled_at = datetime.datetime.fromtimestamp(row["enabled_at"], datetime.timezone.utc)
        return Status("on", enabled_at=enabled_at, codes_left=left)
    secret, _ = decrypt_secret(state.settings, user.id, row["secret"])
    if secret is None:
        return Status("off")  # sealed under a key no longer known: start again
    image, size = qr_code(provisioning_uri(state.settings, user, secret))
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return Status("pending", secret=grouped, qr_code=image, qr_size=size)


async def start_setup(state, user: User) -> bool:
    """A new secret waiting for its first code (replacing one that waited); False if TOTP is on already."""
    values = {"user_id": user.id, "secret": encrypt_secret(state.settings, user.id, pyotp.random_base32()), "now": int(time.time())}
    try:
        async with state.db.transaction():
            await state.db.execute(state.queries.delete_two_factor_setup, {"user_id": user.id})
            await state.db.execute(state.queries.insert_two_factor_setup, values)
    except Exception as error:
        if is_unique_violation(error):
            return False
        raise
    return True


async def cancel_setup(state, user: User) -> None:
    await state.db.execute(state.queries.delete_two_factor_setup, {"user_id": user.id})


async def _store_recovery_codes(state, user: User, now: int) -> list[str]:
    """Replace the user's recovery codes with ten new ones (inside the caller's transaction); returns them."""
    codes = new_recovery_codes()
    await state.db.execute(state.queries.delete_recovery_codes, {"user_id": user.id})
    for code in codes:
        await state.db.execute(state.queries.insert_recovery_code, {"user_id": user.id, "code_hash": recovery_code_hash(user.id, code), "now": now})
    return codes


async def enable(state, user: User, code: str) -> list[str] | None:
    """Turn TOTP on if `code` is a current code of the secret shown; returns the new recovery codes (to show
    once), or None for a wrong code or when nothing waits to be turned on. Mails the user."""
    row = await state.db.fetch_one(state.queries.get_two_factor, {"user_id": user.id})
    if row is None or row["enabled_at"] is not None:
        return None
    secret, _ = decrypt_secret(state.settings, user.id, row["secret"])
    now = int(time.time())
    step = matching_step(secret, clean_code(code), now) if secret else None
    if step is None:
        return None
    async with state.db.transaction():
        values = {"user_id": user.id, "now": now, "step": step, "secret": row["secret"]}
        if not await state.db.execute(state.queries.enable_two_factor, values):
            return None  # turned on meanwhile (another tab), or a new secret replaced this one
        codes = await _store_recovery_codes(state, user, now)
        await mail.queue(state, to=user.email, template="two_factor_on", context={"name": user.name}, user_id=user.id)
    return codes


async def replace_recovery_codes(state, user: User) -> list[str] | None:
    """Ten new recovery codes in place of every old one (None if TOTP is off). Mails the user."""
    async with state.db.transaction():
        if not await is_on(state, user.id):
            return None
        codes = await _store_recovery_codes(state, user, int(time.time()))
        await mail.queue(state, to=user.email, template="recovery_codes_new", context={"name": user.name}, user_id=user.id)
    return codes


async def _accept_code(state, user: User, code: str) -> str | None:
    """Use up `code` (inside the caller's transaction): a current code of the app, its step recorded so it
    cannot be used again, or an unused recovery code, deleted. Returns "totp" or "recovery_code", or None."""
    code = clean_code(code)
    if is_totp_code(code):
        row = await state.db.fetch_one(state.queries.get_two_factor, {"user_id": user.id})
        if row is None or row["enabled_at"] is None:
            return None
        secret, current_key = decrypt_secret(state.settings, user.id, row["secret"])
        step = matching_step(secret, code, time.time()) if secret else None
        if step is None or not await state.db.execute(state.queries.accept_two_factor_step, {"user_id": user.id, "step": step}):
            return None
        if not current_key:  # read with an older SECRET_KEY: sealed again under the present one
            fresh = {"user_id": user.id, "secret": encrypt_secret(state.settings, user.id, secret), "old_secret": row["secret"]}
            await state.db.execute(state.queries.update_two_factor_secret, fresh)
        return "totp"
    if _looks_like_recovery_code(code):
        values = {"user_id": user.id, "code_hash": recovery_code_hash(user.id, code)}
        if await state.db.fetch_val(state.queries.consume_recovery_code, values) is not None:
            return "recovery_code"
    return None


async def _count_attempt(state, user: User, client: str) -> rate_limits.Attempt:
    """Count a code attempt before judging it (rate_limits.attempt); raises TooManyAttempts past the limits.

    The first refusal by the account's limit in its window mails the owner: whoever tried those codes knew the
    password, and the owner should change it."""
    settings = state.settings
    attempt = await rate_limits.attempt(state.db, state.queries, rate_limits.two_factor_limits(settings, user.id, client))
    if attempt.retry_after:
        if "codes" in attempt.lockouts:
            context = {
                "name": user.name, "tries": settings.two_factor_account_limit, "minutes": (attempt.retry_after + 59) // 60,
                "link": mail.link(settings, "/accounts/settings"),
            }
            await mail.queue(state, to=user.email, template="codes_guessed", context=context, user_id=user.id)
        raise TooManyAttempts(attempt.retry_after, attempt.lockouts)
    return attempt


async def disable(state, user: User, code: str, *, client: str) -> str:
    """Turn TOTP off with a current code or a recovery code (the password is checked before); returns which
    was used. Raises WrongCode, or TooManyAttempts past the code limits. Mails the user."""
    attempt = await _count_attempt(state, user, client)
    async with state.db.transaction():
        method = await _accept_code(state, user, code)
        if method is None:
            raise WrongCode()
        await state.db.execute(state.queries.delete_two_factor, {"user_id": user.id})
        await state.db.execute(state.queries.delete_recovery_codes, {"user_id": user.id})
        await mail.queue(state, to=user.email, template="two_factor_off", context={"name": user.name}, user_id=user.id)
    await rate_limits.forget(state.db, state.queries, attempt.hit_ids)
    return method


# Logging in: the half-done login between the password and the code.


async def start_login(state, user: User, *, next_url: str, persistent: bool, replaces: str | None = None) -> str:
    """A login waiting for its code; returns the token for this browser (the row keeps its hash). `replaces`:
    the token of an earlier one from this browser, which ends."""
    now, token = int(time.time()), new_token()
    async with state.db.transaction():
        if isinstance(replaces, str):
            await state.db.execute(state.queries.delete_pending_login, {"token_hash": hash_token(replaces)})
        values = {
            "token_hash": hash_token(token), "user_id": user.id, "next_url": next_url, "persistent": int(persistent),
            "now": now, "expires_at": now + state.settings.two_factor_login_seconds,
        }
        await state.db.execute(state.queries.insert_pending_login, values)
    return token


async def pending_login(state, token) -> PendingLogin | None:
    """The login this browser's token waits with (expired ones too, so the page can say so), else None."""
    if not isinstance(token, str) or len(token) != 43:
        return None
    row = await state.db.fetch_one(state.queries.get_pending_login, {"token_hash": hash_token(token)})
    if row is None:
        return None
    expired = row["expires_at"] <= int(time.time())
    return PendingLogin(User.from_row(row), row["next_url"], bool(row["persistent"]), expired)


async def log_in_with_code(state, token: str, pending: PendingLogin, code: str, *, client: str) -> str:
    """End this browser's pending login (`pending_login(state, token)`, live) with `code`; returns the method,
    "totp" or "recovery_code".

    Raises TooManyAttempts (past the code limits of the account or the client: counted first), WrongCode, or
    LoginExpired if it ended meanwhile. The pending login and the code are used up together, so neither works twice."""
    user = pending.user
    attempt = await _count_attempt(state, user, client)
    async with state.db.transaction():
        method = await _accept_code(state, user, code)
        if method is None:
            raise WrongCode()
        if await state.db.fetch_val(state.queries.consume_pending_login, {"token_hash": hash_token(token), "now": int(time.time())}) is None:
            raise LoginExpired()  # used by a parallel post meanwhile, or just expired: the code stays unused
        if method == "recovery_code":
            left = await state.db.fetch_val(state.queries.count_recovery_codes, {"user_id": user.id})
            context = {"name": user.name, "codes_left": left, "link": mail.link(state.settings, "/accounts/settings")}
            await mail.queue(state, to=user.email, template="recovery_code_used", context=context, user_id=user.id)
    await rate_limits.forget(state.db, state.queries, attempt.hit_ids)
    return method


async def delete_expired_pending_logins(state, batch_size: int) -> int:
    """Remove up to `batch_size` pending logins past their time (housekeeping); returns how many."""
    return await state.db.execute(state.queries.delete_expired_pending_logins, {"now": int(time.time()), "batch_size": batch_size})
