"""Passkeys (WebAuthn, py_webauthn): adding one in settings, logging in with one, and the challenges in between.

A ceremony has two requests. The first (`registration_options`, `login_options`, `confirm_options`)
makes a challenge, stores it for this browser and purpose, and returns the options as JSON for
@simplewebauthn/browser (static/passkeys.js). The second (`add_passkey`, `log_in`, `confirm`) uses the
challenge up in the `DELETE ... RETURNING` that checks it (single use, `WEBAUTHN_CHALLENGE_SECONDS`,
this browser only: the row is keyed by a hash of the browser's session token) before anything
in the response is believed, then lets py_webauthn verify the signed data against BASE_URL's
origin and host name (the relying party).

Passkeys are discoverable (resident key required), so login asks for no email: the
authenticator offers the passkeys it holds for this site, and its answer names the credential
and the user handle (random bytes per user, never the email or the id). A sign counter that
does not grow is refused as a cloned authenticator. A passkey whose authenticator verified the
user (fingerprint, face, PIN) is both factors; one that only saw a touch (some security keys)
proves possession alone, so with TOTP on the code step still follows (routes/passkeys.py).
"""

import dataclasses
import datetime
import hashlib
import secrets
import time
import unicodedata
from urllib.parse import urlsplit

import webauthn
from webauthn.helpers import bytes_to_base64url, parse_authentication_credential_json, parse_registration_credential_json
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from hxauth import mail, rate_limits
from hxauth.accounts import User
from hxauth.faults import is_unique_violation
from hxauth.sessions import device

SITE_NAME = mail.SITE_NAME
REGISTER, LOGIN, CONFIRM = "register", "login", "confirm"
NAME_MAX_LENGTH = 64
HANDLE_BYTES = 32
CREDENTIAL_MAX_LENGTH = 16 * 1024  # a real response is 1-2 KB; FormGuard's 64 KiB body bounds it anyway
# What a refused login says, whatever went wrong with the passkey: an unknown credential must not tell whether
# anyone has an account, and a clone should not learn which check caught it.
LOGIN_FAILED = "That passkey did not log you in. Try again, or log in with your password."
CHALLENGE_GONE = "That took too long, or this page is out of date. Try again."
NOT_CONFIRMED = "That passkey did not confirm that it is you. Try again, or enter your password."


class PasskeyRefused(Exception):
    """A ceremony failed: `message` is for the user, `reason` for the audit log (never a secret)."""

    def __init__(self, message: str, reason: str):
        super().__init__(reason)
        self.message = message
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Passkey:
    """One passkey as the settings page lists it."""

    id: int
    name: str
    created: datetime.datetime
    last_used: datetime.datetime | None


def relying_party(settings) -> tuple[str, str]:
    """The relying party id (BASE_URL's host name) and the origin the browser must report (BASE_URL itself)."""
    return urlsplit(settings.base_url).hostname, settings.base_url


def _browser_hash(browser_token: str) -> str:
    """The key of this browser's challenges: a hash of its session token (anonymous or logged in), for this use only."""
    return hashlib.sha256(f"passkey challenge:{browser_token}".encode()).hexdigest()


def _when(epoch: int | None) -> datetime.datetime | None:
    return None if epoch is None else datetime.datetime.fromtimestamp(epoch, datetime.UTC)


def check_name(name: str) -> tuple[str, str | None]:
    """A passkey's name, tidied, and what is wrong with it (None: nothing)."""
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if not name:
        return name, "Give the passkey a name."
    if len(name) > NAME_MAX_LENGTH:
        return name, f"Use at most {NAME_MAX_LENGTH} characters."
    if any(unicodedata.category(c).startswith("C") and c != "\u200d" for c in name):
        return name, "Use letters, digits, spaces and punctuation only."
    return name, None


def default_name(user_agent: str) -> str:
    """A new passkey's name until the user gives one: the browser and system it was made on."""
    made_on = device(user_agent)
    return "Passkey" if made_on == "Unknown device" else f"Passkey on {made_on}"[:NAME_MAX_LENGTH]


def passkey_id(text: str) -> int | None:
    """A form's passkey_id as a number, or None for anything that is not one of ours."""
    return int(text) if text.isdigit() and len(text) <= 18 else None


async def _save_challenge(state, purpose: str, browser_token: str, challenge: bytes, user_id: int | None) -> None:
    now = int(time.time())
    values = {
        "browser_hash": _browser_hash(browser_token), "purpose": purpose, "user_id": user_id,
        "challenge": bytes_to_base64url(challenge), "now": now, "expires_at": now + state.settings.webauthn_challenge_seconds,
    }
    await state.db.execute(state.queries.save_passkey_challenge, values)


async def _use_challenge(state, purpose: str, browser_token: str, user_id: int | None = None) -> bytes:
    """This browser's live challenge for `purpose`, deleted as it is read; PasskeyRefused if there is none."""
    values = {"browser_hash": _browser_hash(browser_token), "now": int(time.time())}
    if purpose in (REGISTER, CONFIRM):
        row = await state.db.fetch_one(state.queries.consume_user_challenge, {**values, "purpose": purpose, "user_id": user_id})
    else:
        row = await state.db.fetch_one(state.queries.consume_login_challenge, values)
    if row is None:
        raise PasskeyRefused(CHALLENGE_GONE, "challenge unknown, used or expired")
    return webauthn.base64url_to_bytes(row["challenge"])


async def _limit_challenges(state, client: str) -> None:
    await rate_limits.allow(state.db, state.queries, rate_limits.passkey_challenge_limits(state.settings, client))


async def _user_handle(state, user_id: int) -> bytes:
    """The user's WebAuthn user handle, made on first need (the UPDATE keeps the first of two made at once)."""
    handle = await state.db.fetch_val(state.queries.get_user_webauthn_handle, {"user_id": user_id})
    if handle is None:
        new = bytes_to_base64url(secrets.token_bytes(HANDLE_BYTES))
        await state.db.execute(state.queries.set_user_webauthn_handle, {"user_id": user_id, "handle": new})
        handle = await state.db.fetch_val(state.queries.get_user_webauthn_handle, {"user_id": user_id})
    return webauthn.base64url_to_bytes(handle)


def _transports(text: str) -> list[AuthenticatorTransport]:
    known = {transport.value for transport in AuthenticatorTransport}
    return [AuthenticatorTransport(value) for value in text.split(",") if value in known]


def _descriptors(rows) -> list[PublicKeyCredentialDescriptor]:
    """The user's passkeys as WebAuthn names them in options (to exclude, or to allow)."""
    return [PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(row["credential_id"]), transports=_transports(row["transports"])) for row in rows]


async def registration_options(state, user: User, *, browser_token: str, client: str) -> str:
    """The options (JSON) for adding a passkey: discoverable, user verification preferred, none of the user's
    own passkeys again. Raises TooManyAttempts past the client's limit on challenges."""
    await _limit_challenges(state, client)
    rp_id, _ = relying_party(state.settings)
    rows = await state.db.fetch_all(state.queries.list_user_passkeys, {"user_id": user.id})
    options = webauthn.generate_registration_options(
        rp_id=rp_id,
        rp_name=SITE_NAME,
        user_id=await _user_handle(state, user.id),
        user_name=user.email,
        user_display_name=user.name,
        timeout=state.settings.webauthn_challenge_seconds * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
        exclude_credentials=_descriptors(rows),
    )
    await _save_challenge(state, REGISTER, browser_token, options.challenge, user.id)
    return webauthn.options_to_json(options)


def _verified_registration(state, credential: str, challenge: bytes):
    rp_id, origin = relying_party(state.settings)
    if len(credential) > CREDENTIAL_MAX_LENGTH:
        raise PasskeyRefused("The browser's answer could not be read. Try again.", "response too large")
    try:
        parsed = parse_registration_credential_json(credential)
        verified = webauthn.verify_registration_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin
        )
    except Exception as error:  # py_webauthn's own errors, and whatever odd input makes its parsers raise
        raise PasskeyRefused("The browser's answer could not be verified, so no passkey was added. Try again.", _reason(error)) from None
    return parsed, verified


def _reason(error: Exception) -> str:
    """Why py_webauthn refused, for the audit log: its message names checks, never a key or a challenge's value."""
    return f"{type(error).__name__}: {error}"[:200]


async def add_passkey(state, user: User, credential: str, *, name: str, browser_token: str, user_agent: str) -> str:
    """Verify a new passkey's registration against this browser's challenge and keep it; returns its name.

    `name` may be empty (then the browser and system's). The "passkey added" message is queued with it.
    Raises PasskeyRefused for a used, expired or other browser's challenge, a response that does not verify,
    or a passkey already registered."""
    challenge = await _use_challenge(state, REGISTER, browser_token, user.id)
    parsed, verified = _verified_registration(state, credential, challenge)
    name = name or default_name(user_agent)
    values = {
        "user_id": user.id,
        "credential_id": bytes_to_base64url(verified.credential_id),
        "public_key": bytes_to_base64url(verified.credential_public_key),
        "sign_count": verified.sign_count,
        "transports": ",".join(transport.value for transport in parsed.response.transports or []),
        "name": name,
        "now": int(time.time()),
    }
    try:
        async with state.db.transaction():
            await state.db.fetch_val(state.queries.insert_passkey, values)
            await mail.queue(state, to=user.email, template="passkey_added", context={"name": user.name, "passkey": name, **_settings_link(state)}, user_id=user.id)
    except Exception as error:
        if is_unique_violation(error):
            raise PasskeyRefused("That passkey is already registered.", "credential already registered") from None
        raise
    return name


def _settings_link(state) -> dict:
    return {"link": mail.link(state.settings, "/accounts/settings")}


async def login_options(state, *, browser_token: str, client: str) -> str:
    """The options (JSON) for logging in with any passkey of this site (no list of credentials: they are
    discoverable). Raises TooManyAttempts past the client's limit on challenges."""
    await _limit_challenges(state, client)
    rp_id, _ = relying_party(state.settings)
    options = webauthn.generate_authentication_options(
        rp_id=rp_id, timeout=state.settings.webauthn_challenge_seconds * 1000, user_verification=UserVerificationRequirement.PREFERRED
    )
    await _save_challenge(state, LOGIN, browser_token, options.challenge, None)
    return webauthn.options_to_json(options)


async def confirm_options(state, user: User, *, browser_token: str, client: str) -> str:
    """The options (JSON) for confirming a change with one of the user's own passkeys, in place of the password.
    Raises TooManyAttempts past the client's limit on challenges."""
    await _limit_challenges(state, client)
    rp_id, _ = relying_party(state.settings)
    rows = await state.db.fetch_all(state.queries.list_user_passkeys, {"user_id": user.id})
    options = webauthn.generate_authentication_options(
        rp_id=rp_id, timeout=state.settings.webauthn_challenge_seconds * 1000,
        allow_credentials=_descriptors(rows), user_verification=UserVerificationRequirement.PREFERRED,
    )
    await _save_challenge(state, CONFIRM, browser_token, options.challenge, user.id)
    return webauthn.options_to_json(options)


async def _count_try(state, client: str) -> rate_limits.Attempt:
    """A passkey try counts towards the client's limit first (TooManyAttempts past it); forgotten if it succeeds."""
    counted = await rate_limits.attempt(state.db, state.queries, rate_limits.passkey_login_limits(state.settings, client))
    if counted.retry_after:
        raise rate_limits.TooManyAttempts(counted.retry_after)
    return counted


async def _signed_by_a_passkey(state, credential: str, challenge: bytes, refusal: str):
    """The passkey row (with its user) that signed `challenge`, and whether the user was verified; its count and
    last use are saved. PasskeyRefused(refusal) for an unreadable answer, an unknown passkey, a bad signature,
    another origin, and a counter that did not grow (a clone)."""
    if len(credential) > CREDENTIAL_MAX_LENGTH:
        raise PasskeyRefused(refusal, "response too large")
    try:
        parsed = parse_authentication_credential_json(credential)
    except Exception as error:
        raise PasskeyRefused(refusal, _reason(error)) from None
    row = await state.db.fetch_one(state.queries.get_passkey_by_credential_id, {"credential_id": parsed.id})
    if row is None:
        raise PasskeyRefused(refusal, "unknown credential")
    handle = parsed.response.user_handle
    if handle is not None and bytes_to_base64url(handle) != row["webauthn_handle"]:
        raise PasskeyRefused(refusal, "user handle is not the credential's user's")
    rp_id, origin = relying_party(state.settings)
    try:
        verified = webauthn.verify_authentication_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin,
            credential_public_key=webauthn.base64url_to_bytes(row["public_key"]), credential_current_sign_count=row["sign_count"],
        )
    except Exception as error:  # a bad signature, another origin, and a counter that did not grow (a clone)
        raise PasskeyRefused(refusal, _reason(error)) from None
    use = {"id": row["passkey_id"], "sign_count": verified.new_sign_count, "old_sign_count": row["sign_count"], "now": int(time.time())}
    if not await state.db.execute(state.queries.update_passkey_use, use):
        raise PasskeyRefused(refusal, "passkey used at the same moment elsewhere, or removed")
    return row, verified.user_verified


async def log_in(state, credential: str, *, browser_token: str, client: str) -> tuple[User, bool]:
    """The user whose passkey signed this browser's login challenge, and whether the authenticator verified the
    user (not just a touch). Counted per client (rate_limits.passkey_login_limits); PasskeyRefused else."""
    counted = await _count_try(state, client)
    challenge = await _use_challenge(state, LOGIN, browser_token)
    row, user_verified = await _signed_by_a_passkey(state, credential, challenge, LOGIN_FAILED)
    await rate_limits.forget(state.db, state.queries, counted.hit_ids)
    return User.from_row(row), user_verified


async def confirm(state, user: User, credential: str, *, browser_token: str, client: str) -> None:
    """Check that one of `user`'s own passkeys signed this browser's confirmation challenge (in place of the
    password, e.g. to remove a passkey). Counted like a login try; PasskeyRefused if it did not."""
    counted = await _count_try(state, client)
    challenge = await _use_challenge(state, CONFIRM, browser_token, user.id)
    row, _ = await _signed_by_a_passkey(state, credential, challenge, NOT_CONFIRMED)
    if row["id"] != user.id:
        raise PasskeyRefused(NOT_CONFIRMED, "another user's passkey")
    await rate_limits.forget(state.db, state.queries, counted.hit_ids)


async def list_passkeys(state, user_id: int) -> list[Passkey]:
    rows = await state.db.fetch_all(state.queries.list_user_passkeys, {"user_id": user_id})
    return [Passkey(id=row["id"], name=row["name"], created=_when(row["created_at"]), last_used=_when(row["last_used_at"])) for row in rows]


async def rename_passkey(state, user: User, passkey: int, name: str) -> bool:
    """Give one of the user's passkeys a new name; False if it is not theirs (or gone)."""
    return bool(await state.db.execute(state.queries.rename_passkey, {"id": passkey, "user_id": user.id, "name": name}))


async def remove_passkey(state, user: User, passkey: int) -> str | None:
    """Remove one of the user's passkeys, with the "passkey removed" message; its name, or None if it is not theirs."""
    async with state.db.transaction():
        name = await state.db.fetch_val(state.queries.delete_passkey, {"id": passkey, "user_id": user.id})
        if name is not None:
            await mail.queue(state, to=user.email, template="passkey_removed", context={"name": user.name, "passkey": name, **_settings_link(state)}, user_id=user.id)
    return name


async def delete_expired_challenges(state, batch_size: int) -> int:
    """Remove up to `batch_size` expired challenges (housekeeping); returns how many."""
    return await state.db.execute(state.queries.delete_expired_passkey_challenges, {"now": int(time.time()), "batch_size": batch_size})
