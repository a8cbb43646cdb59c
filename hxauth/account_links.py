"""Links sent by mail that act on an account: confirm an address, reset a password.

A link carries a random token (hxauth.tokens); the email_tokens table keeps its
SHA-256 with the purpose, the user and the address it was sent to. A token works
once, until it expires, for its purpose only, and only while the user's email is
still the address it went to. Using it deletes its row in the same statement
that checks it (`DELETE ... RETURNING`), so two uses at once cannot both win.

Every message is queued (hxauth.mail) in the transaction that writes the token
or the change it reports: both are committed, or neither.
"""

import time

from hxauth import mail, rate_limits
from hxauth.tokens import hash_token, looks_like_a_token, new_token

CONFIRM, RESET = "confirm", "reset"
PATHS = {CONFIRM: "/accounts/confirm/", RESET: "/accounts/reset-password/"}


def _lifetime(settings, purpose: str) -> int:
    return settings.confirm_email_seconds if purpose == CONFIRM else settings.reset_password_seconds


async def _new_link(state, *, user_id: int, email: str, purpose: str) -> str:
    """Store a new token for the user and return the link that carries it (on BASE_URL, never the request's Host)."""
    token, now = new_token(), int(time.time())
    values = {
        "token_hash": hash_token(token), "user_id": user_id, "purpose": purpose, "email": email,
        "now": now, "expires_at": now + _lifetime(state.settings, purpose),
    }
    await state.db.execute(state.queries.insert_email_token, values)
    return mail.link(state.settings, PATHS[purpose] + token)


async def _consume(state, token: str, purpose: str) -> int | None:
    """Use up a live token: the id of its user, or None if it is unknown, used, expired, for another purpose or
    for an address the user no longer has."""
    if not looks_like_a_token(token):
        return None
    values = {"token_hash": hash_token(token), "purpose": purpose, "now": int(time.time())}
    return await state.db.fetch_val(state.queries.consume_email_token, values)


async def get_user_by_token(state, token: str, purpose: str):
    """The user row (id, name, email, confirmed_at) a live token is for, without using it up; else None."""
    if not looks_like_a_token(token):
        return None
    values = {"token_hash": hash_token(token), "purpose": purpose, "now": int(time.time())}
    return await state.db.fetch_one(state.queries.get_email_token_user, values)


# Email confirmation.


async def send_confirmation(state, *, user_id: int, name: str, email: str) -> None:
    """Queue a confirmation link to `email`; call it inside the transaction that makes the user (or the change)."""
    link = await _new_link(state, user_id=user_id, email=email, purpose=CONFIRM)
    await mail.queue(state, to=email, template="confirm", context={"name": name, "link": link}, user_id=user_id)


async def send_confirmation_again(state, user, *, client: str) -> None:
    """A new confirmation link for a logged-in, unconfirmed user; limited per user and client (TooManyAttempts)."""
    await rate_limits.allow(state.db, state.queries, rate_limits.confirm_limits(state.settings, user.id, client))
    async with state.db.transaction():
        await send_confirmation(state, user_id=user.id, name=user.name, email=user.email)


async def confirm_email(state, token: str) -> int | None:
    """Mark the address the link was sent to as confirmed and end the user's confirmation links; the user's id,
    or None for a token that does not work."""
    async with state.db.transaction():
        user_id = await _consume(state, token, CONFIRM)
        if user_id is not None:
            await state.db.execute(state.queries.update_user_confirmed_at, {"id": user_id, "now": int(time.time())})
            await state.db.execute(state.queries.delete_user_email_tokens, {"user_id": user_id, "purpose": CONFIRM})
    return user_id


async def tell_owner_of_signup(state, email: str) -> None:
    """Someone signed up with an address that has an account: tell its owner (REQUIRE_CONFIRMED_EMAIL answers
    that signup as it answers a new one, so the page reveals nothing and the mail says what happened)."""
    row = await state.db.fetch_one(state.queries.get_user_by_email, {"email": email})
    if row is None:  # deleted meanwhile
        return
    context = {
        "name": row["name"],
        "login_link": mail.link(state.settings, "/accounts/login"),
        "reset_link": mail.link(state.settings, PATHS[RESET].rstrip("/")),
    }
    await mail.queue(state, to=row["email"], template="signup_attempted", context=context, user_id=row["id"])


# Password reset.


async def request_password_reset(state, email: str, *, client: str) -> int | None:
    """Mail a reset link to `email` (checked and normalised) if an account has it; the user's id, else None.

    Limited per address and per client (TooManyAttempts), counted for every address
    alike. Both outcomes look the same from outside: no hash either way, the same
    lookup, a transaction and a rendered message either way (the message only
    queued for an account, two inserts more); the caller answers the same.
    """
    await rate_limits.allow(state.db, state.queries, rate_limits.reset_limits(state.settings, email, client))
    row = await state.db.fetch_one(state.queries.get_user_by_email, {"email": email})
    minutes = state.settings.reset_password_seconds // 60
    async with state.db.transaction():
        if row is None:
            # The message is made and dropped: rendering it is most of what queueing costs.
            mail.render("reset", {"base_url": state.settings.base_url, "name": "", "link": "", "minutes": minutes})
            return None
        link = await _new_link(state, user_id=row["id"], email=row["email"], purpose=RESET)
        context = {"name": row["name"], "link": link, "minutes": minutes}
        await mail.queue(state, to=row["email"], template="reset", context=context, user_id=row["id"])
    return row["id"]


async def end_reset_links(state, user_id: int) -> None:
    """A password changed: every reset link of the user stops working."""
    await state.db.execute(state.queries.delete_user_email_tokens, {"user_id": user_id, "purpose": RESET})


async def reset_password(state, token: str, password: str) -> int | None:
    """Set a new password through a reset link: the user's id, or None if the token does not work (any more).

    In one transaction: the token is used up, the password replaced, every reset
    link and every session of the user ended (a stolen session dies with the old
    password), the address counted as confirmed (the link proved it), and the
    "password changed" message queued. The hash is made first, off the event loop.
    """
    password_hash = await state.hasher.hash(password)
    now = int(time.time())
    async with state.db.transaction():
        user_id = await _consume(state, token, RESET)
        if user_id is None:
            return None
        await state.db.execute(state.queries.update_user_password_hash, {"id": user_id, "password_hash": password_hash})
        await end_reset_links(state, user_id)
        await state.db.execute(state.queries.delete_user_sessions, {"user_id": user_id})
        await state.db.execute(state.queries.update_user_confirmed_at, {"id": user_id, "now": now})
        user = await state.db.fetch_one(state.queries.get_user_by_id, {"id": user_id})
        context = {"name": user["name"], "link": mail.link(state.settings, PATHS[RESET].rstrip("/"))}
        await mail.queue(state, to=user["email"], template="password_changed", context=context, user_id=user_id)
    return user_id


async def delete_expired_tokens(state, batch_size: int) -> int:
    """Remove up to `batch_size` tokens past their expiry (housekeeping); returns how many."""
    values = {"now": int(time.time()), "batch_size": batch_size}
    return await state.db.execute(state.queries.delete_expired_email_tokens, values)
