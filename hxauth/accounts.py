"""Every query about users and sessions, and the password check; routes and auth.py never write SQL.

Functions take `state`: the app's `app.state` (or the CLI's), holding `settings`,
`db`, `queries` and `hasher`.
"""

import dataclasses
import secrets
import time
import unicodedata

from email_validator import EmailNotValidError, validate_email
from starlette.authentication import BaseUser

from hxauth import account_links, devices, rate_limits
from hxauth.faults import is_unique_violation
from hxauth.passwords import password_problem, too_long
from hxauth.rate_limits import TooManyAttempts
from hxauth.tokens import hash_token, new_token

NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254  # RFC 5321's limit on a path
ALLOWED_FORMAT_CHARACTERS = {"\u200d"}  # the zero-width joiner inside emoji sequences
# Touch last_seen_at at most this often: the idle expiry needs no write per request.
TOUCH_INTERVAL = 60


class EmailTaken(Exception):
    """Another account already uses this email (in any letter case)."""


@dataclasses.dataclass(frozen=True)
class User(BaseUser):
    """A user as the app sees them (never the password hash); also `request.user` for a live session."""

    id: int
    name: str
    email: str
    confirmed_at: int | None = None  # when the address was confirmed; None: not yet

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def identity(self) -> str:
        return str(self.id)

    @classmethod
    def from_row(cls, row) -> "User":
        """The user from a query's row: the one place to add a column that pages show."""
        return cls(id=row["id"], name=row["name"], email=row["email"], confirmed_at=row["confirmed_at"])


def normalize_email(email: str) -> str:
    """The one form of an address, stored, matched and counted: NFKC (fullwidth ａｎｎ is ann), trimmed, the domain
    in Unicode whether typed so or in punycode (email-validator's IDNA), lower-cased; so look-alikes are one account.

    An address email-validator refuses stays as typed, NFKC and lower-cased: check_email says what is wrong.
    """
    email = unicodedata.normalize("NFKC", email).strip()
    if len(email) > EMAIL_MAX_LENGTH:  # never valid; and the validator took 50 ms of the event loop on 30,000 characters
        return email.lower()
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        pass
    return email.lower()


def _unsafe_characters(text: str) -> bool:
    """Control, format (bidi overrides, zero-width), private-use and unassigned characters."""
    return any(unicodedata.category(c).startswith("C") and c not in ALLOWED_FORMAT_CHARACTERS for c in text)


def check_name(name: str) -> tuple[str, str | None]:
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if not name:
        return name, "Enter your name."
    if len(name) > NAME_MAX_LENGTH:
        return name, f"Use at most {NAME_MAX_LENGTH} characters."
    if _unsafe_characters(name):
        return name, "Use letters, digits, spaces and punctuation only."
    return name, None


def check_email(email: str) -> tuple[str, str | None]:
    email = normalize_email(email)
    if not email:
        return email, "Enter your email address."
    if len(email) > EMAIL_MAX_LENGTH:
        return email, f"Use at most {EMAIL_MAX_LENGTH} characters."
    try:  # syntax, no quoted local part, no IP-address domain, no invisible or format characters; no DNS lookup
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return email, "Enter an email address like name@example.com."
    if _unsafe_characters(email):
        return email, "Enter an email address like name@example.com."
    return email, None


def check_signup(name: str, email: str, password: str, password_min_length: int) -> tuple[dict, dict]:
    """Cleaned values and an error message per invalid field."""
    values, errors = {}, {}
    values["name"], errors["name"] = check_name(name)
    values["email"], errors["email"] = check_email(email)
    errors["password"] = password_problem(password, password_min_length, name=values["name"], email=values["email"])
    return values, {field: message for field, message in errors.items() if message}


def check_login(email: str, password: str) -> dict:
    """An error message per empty field of the login form."""
    errors = {}
    if not email.strip():
        errors["email"] = "Enter your email address."
    if not password:
        errors["password"] = "Enter your password."
    return errors


def login_email(email: str) -> str:
    """The email as a login matches it, counts its failures and logs it."""
    return normalize_email(email)[:EMAIL_MAX_LENGTH]


async def register_user(state, *, name: str, email: str, password: str) -> int:
    """Create the account, with its confirmation link in the outbox, and return its id.

    The unique index, not a prior SELECT, catches duplicates. The user, the link's
    token and the message commit together or not at all; the hash is made before
    the transaction, which would otherwise hold its connection while Argon2 runs.
    """
    password_hash = await state.hasher.hash(password)
    values = {"name": name, "email": email, "password_hash": password_hash, "created_at": int(time.time())}
    try:
        async with state.db.transaction():
            user_id = await state.db.fetch_val(state.queries.insert_user, values)
            await account_links.send_confirmation(state, user_id=user_id, name=name, email=email)
    except Exception as error:
        if is_unique_violation(error):
            raise EmailTaken(email) from None
        raise
    return user_id


async def get_user_by_email_and_password(state, email: str, password: str) -> User | None:
    """The user if the password matches, else None, taking about the same time either way."""
    email, problem = check_email(email)
    row = None if problem else await state.db.fetch_one(state.queries.get_user_by_email, {"email": email})
    if too_long(password):
        return None
    if row is None:
        # Verify against a dummy hash so an unknown email costs what a wrong password does.
        await state.hasher.verify_nobody(password)
        return None
    if not await state.hasher.verify(row["password_hash"], password):
        return None
    if state.hasher.needs_rehash(row["password_hash"]):
        new_hash = await state.hasher.hash(password)
        await state.db.execute(state.queries.update_user_password_hash, {"id": row["id"], "password_hash": new_hash})
    return User.from_row(row)


async def sign_up_attempt(state, *, name: str, email: str, password: str, client: str) -> int:
    """register_user under the per-client signup limit, counted before the account is made.

    Raises TooManyAttempts or EmailTaken (a taken email counts as a signup), or passwords.Busy (nothing counted).
    """
    async with state.hasher.slot(client):  # first: a request refused for want of room counts against nothing
        await rate_limits.allow(state.db, state.queries, rate_limits.signup_limits(state.settings, client))
        return await register_user(state, name=name, email=email, password=password)


async def log_in_attempt(state, email: str, password: str, *, client: str, device: str = "") -> User | None:
    """get_user_by_email_and_password under the failed-login limits; raises TooManyAttempts.

    The attempt is counted before the password is checked, so guesses sent in
    parallel cannot all pass; a success takes its own count back and clears the
    account's failures from this client, or this device (the owner got in: forget their typos).
    `device`: the browser's device cookie (hxauth.devices), if any; valid for this account, its attempts are
    held to that device's limit instead of the account's (rate_limits.login_limits).
    Raises passwords.Busy, before anything is counted, when the client has its share of hashing already.
    """
    account = login_email(email)
    nonce = await _device_nonce(state, account, device) if device else None
    limits = rate_limits.login_limits(state.settings, account, client, device=nonce)
    async with state.hasher.slot(client):  # first: a request refused for want of room counts against nothing
        attempt = await rate_limits.attempt(state.db, state.queries, limits)
        if attempt.retry_after:
            raise TooManyAttempts(attempt.retry_after, attempt.lockouts)
        user = await get_user_by_email_and_password(state, email, password)
    if user is not None:
        await rate_limits.forget(state.db, state.queries, attempt.hit_ids)
        await rate_limits.clear(state.db, state.queries, limits[0])  # the account+client bucket, or the device's
    return user


async def _device_nonce(state, account: str, cookie: str) -> str | None:
    """The device's nonce if `cookie` is a valid device cookie for the account with this login email."""
    row = await state.db.fetch_one(state.queries.get_user_by_email, {"email": account})
    return None if row is None else devices.device_nonce(state.settings, cookie, row["id"], row["password_hash"])


async def get_password_hash(state, user_id: int) -> str | None:
    """The user's stored password hash, to which their device cookies are bound (hxauth.devices)."""
    return await state.db.fetch_val(state.queries.get_user_password_hash, {"id": user_id})


# Sessions. The cookie carries a random token; the sessions table keeps only its SHA-256 (hxauth.tokens).


async def create_session(state, user_id: int, *, user_agent: str = "", client_address: str = "", persistent: bool = False) -> str:
    """Start a session for the user; returns its token, for the cookie (the database keeps only its hash).

    The browser's User-Agent and address are kept for the user's list of sessions; `persistent` ("Keep me
    logged in") spares the session the idle expiry. Its `id` names it in that list's forms."""
    token = new_token()
    values = {
        "token_hash": hash_token(token), "id": secrets.token_hex(16), "user_id": user_id, "now": int(time.time()),
        "user_agent": user_agent, "client_address": client_address, "persistent": int(persistent),
    }
    await state.db.execute(state.queries.insert_session, values)
    return token


async def get_user_by_session_token(state, token: str) -> User | None:
    """The user of a live session (within both expiries), in one query; records the visit for the idle expiry."""
    settings, now, token_hash = state.settings, int(time.time()), hash_token(token)
    row = await state.db.fetch_one(
        state.queries.get_session_user,
        {
            "token_hash": token_hash,
            "created_after": now - settings.session_max_seconds,
            "seen_after": now - settings.session_idle_seconds,
        },
    )
    if row is None:
        return None
    if now - row["last_seen_at"] >= TOUCH_INTERVAL:
        await state.db.execute(state.queries.touch_session, {"token_hash": token_hash, "now": now})
    return User.from_row(row)


async def delete_session_token(state, token: str) -> None:
    """End one session (logout): a replayed copy of its cookie is anonymous from now on."""
    await state.db.execute(state.queries.delete_session, {"token_hash": hash_token(token)})


async def delete_expired_sessions(state, batch_size: int) -> int:
    """Remove up to `batch_size` sessions past their idle or absolute expiry; returns how many."""
    now, settings = int(time.time()), state.settings
    values = {
        "created_before": now - settings.session_max_seconds,
        "seen_before": now - settings.session_idle_seconds,
        "batch_size": batch_size,
    }
    return await state.db.execute(state.queries.delete_expired_sessions, values)
