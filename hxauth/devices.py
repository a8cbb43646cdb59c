"""Device cookies (OWASP's "Slow Down Online Guessing Attacks with Device Cookies"): a browser that has logged in
to an account before says so, and its attempts at that account are then held to a limit of its own rather than
the account-wide one, which an attacker spread over many addresses can exhaust.

A successful login (routes.accounts.finish_login) gives the browser a device cookie: the user's id and a random
nonce, signed under a key derived from SECRET_KEY and the account's stored password hash, so a new password (a
change or a reset) voids every device cookie of the account. One cookie holds the latest DEVICE_ACCOUNTS
accounts logged in to from this browser (a shared computer), newest first. It is not the session: it survives
logout, and it proves nothing on its own (a login still needs the password).
"""

import hashlib
import secrets

from itsdangerous import BadSignature, TimestampSigner

from hxauth.requests import cookie_name, over_https
from hxauth.settings import derived_key

COOKIE = "device"  # "__Host-device" over HTTPS, as the session cookie (requests.cookie_name)
DEVICE_ACCOUNTS = 5  # accounts remembered per browser
SEPARATOR = "|"  # between the accounts' tokens: a cookie octet, and never in a signed token
TOKEN_MAX_LENGTH = 120  # a token of ours is about 90 characters; a longer one is not looked at


def _signer(secret_key: str, password_hash: str) -> TimestampSigner:
    """The signer of one account's device tokens: its key changes with the password."""
    key = hashlib.blake2b(password_hash.encode(), key=derived_key("device", secret_key), digest_size=64).digest()
    return TimestampSigner(key, key_derivation="none", digest_method=hashlib.sha256)  # HMAC-SHA256


def presented(request) -> str:
    """The device cookie this request carries (unverified), or ""."""
    return request.cookies.get(cookie_name(request.scope, COOKIE), "")


def _tokens(cookie: str) -> list[str]:
    return [token for token in cookie.split(SEPARATOR)[:DEVICE_ACCOUNTS] if 0 < len(token) <= TOKEN_MAX_LENGTH]


def device_nonce(settings, cookie: str, user_id: int, password_hash: str) -> str | None:
    """The nonce naming this browser if `cookie` holds a valid, unexpired device token for this account, else
    None (forged, tampered with, another account's, from before the password changed, or too old)."""
    prefix = f"{user_id}:"
    for token in _tokens(cookie):
        if token.startswith(prefix):
            try:
                value = _signer(settings.secret_key, password_hash).unsign(token, max_age=settings.device_cookie_max_age)
            except BadSignature:  # SignatureExpired is one
                return None
            return value.decode().removeprefix(prefix)
    return None


def give(request, response, user_id: int, password_hash: str | None) -> None:
    """Set this browser's device cookie with a new token for the account in front of the others it holds
    (none if the account is gone meanwhile: `password_hash` None)."""
    if password_hash is None:
        return
    settings = request.app.state.settings
    token = _signer(settings.secret_key, password_hash).sign(f"{user_id}:{secrets.token_urlsafe(16)}").decode()
    others = [old for old in _tokens(presented(request)) if not old.startswith(f"{user_id}:")]
    name = cookie_name(request.scope, COOKIE)
    response.set_cookie(
        name, SEPARATOR.join([token, *others][:DEVICE_ACCOUNTS]), max_age=settings.device_cookie_max_age,
        path="/", secure=over_https(request.scope), httponly=True, samesite="lax",
    )
