"""What a logged-in user changes about their account: name, email (through a link), password; and deleting it.

Every change that needs the password checks it as a login does (`check_current_password`):
a wrong one is a password guess and counts towards that account's and client's login
limits. A message about a change is queued in the change's own transaction (hxauth.mail).
"""

import time

from hxauth import account_links, accounts, mail, rate_limits
from hxauth.accounts import EmailTaken, User
from hxauth.faults import is_unique_violation
from hxauth.tokens import hash_token, looks_like_a_token, new_token

# The link that confirms a new address works this long.
EMAIL_CHANGE_SECONDS = 24 * 3600
# The new address's link is a confirmation link like signup's (PRODUCT.md: /accounts/confirm/{token}), kept in
# email_changes rather than email_tokens because the address is not the user's yet.
EMAIL_CHANGE_PATH = account_links.PATHS[account_links.CONFIRM]


class WrongPassword(Exception):
    """The current password given is not the user's."""


async def check_current_password(state, user: User, password: str, *, client: str, device: str = "") -> None:
    """Raise WrongPassword unless `password` is the user's, or TooManyAttempts once the login limits of this
    account and client (or of this browser's device cookie, `device`) are reached: it is a login attempt
    (accounts.log_in_attempt) in all but the session."""
    if await accounts.log_in_attempt(state, user.email, password, client=client, device=device) is None:
        raise WrongPassword()


async def change_name(state, user: User, name: str) -> None:
    await state.db.execute(state.queries.update_user_name, {"id": user.id, "name": name})


async def request_email_change(state, user: User, new_email: str, *, client: str) -> None:
    """Send a link to `new_email` that moves the account there when used, and tell the present address.

    Nothing changes until then; a newer request replaces an older one. Raises TooManyAttempts past the limits
    of this user and client (counted first, so that EmailTaken, another account has the address now, cannot
    be asked about without end), then EmailTaken (the unique index decides again when the link is used)."""
    await rate_limits.allow(state.db, state.queries, rate_limits.email_change_limits(state.settings, user.id, client))
    if await state.db.fetch_one(state.queries.get_user_by_email, {"email": new_email}) is not None:
        raise EmailTaken(new_email)
    token, now = new_token(), int(time.time())
    link = mail.link(state.settings, EMAIL_CHANGE_PATH + token)
    context = {"name": user.name, "old_email": user.email, "new_email": new_email}
    async with state.db.transaction():
        values = {
            "token_hash": hash_token(token), "user_id": user.id, "old_email": accounts.normalize_email(user.email),
            "new_email": new_email, "now": now, "expires_at": now + EMAIL_CHANGE_SECONDS,
        }
        await state.db.execute(state.queries.insert_email_change, values)
        await mail.queue(state, to=new_email, template="confirm_new_email", context={**context, "link": link}, user_id=user.id)
        await mail.queue(state, to=user.email, template="email_changed", context=context, user_id=user.id)


def _change_values(user: User, token: str) -> dict | None:
    if not looks_like_a_token(token):
        return None  # not a token of ours: no query
    return {"token_hash": hash_token(token), "user_id": user.id, "now": int(time.time())}


async def is_email_change_link(state, token: str) -> bool:
    """Whether `token` is a live link to a new address (anyone's): /accounts/confirm/{token} is then one."""
    if not looks_like_a_token(token):
        return False
    values = {"token_hash": hash_token(token), "now": int(time.time())}
    return bool(await state.db.fetch_val(state.queries.any_email_change_with_token, values))


async def pending_email_change(state, user: User, token: str) -> str | None:
    """The new address a live link of this user's would move them to (without using it), else None."""
    values = _change_values(user, token)
    if values is None:
        return None
    row = await state.db.fetch_one(state.queries.get_email_change, values)
    return row["new_email"] if row else None


async def confirm_email_change(state, user: User, token: str) -> str | None:
    """Use the link: the account's email becomes the address it was sent to, which is returned; None for a
    link that is unknown, used, expired, another user's, or from an address the user no longer has.
    Raises EmailTaken if another account took the address meanwhile (the link then still works later)."""
    values = _change_values(user, token)
    if values is None:
        return None
    try:
        async with state.db.transaction():
            row = await state.db.fetch_one(state.queries.consume_email_change, values)
            if row is None:
                return None
            change = {"id": user.id, "old_email": row["old_email"], "new_email": row["new_email"]}
            if not await state.db.execute(state.queries.update_user_email, change):
                return None
            await state.db.execute(state.queries.update_user_confirmed_at, {"id": user.id, "now": int(time.time())})
    except Exception as error:
        if is_unique_violation(error):
            raise EmailTaken(row["new_email"]) from None
        raise
    return row["new_email"]


async def change_password(state, user: User, new_password: str, *, browser: dict, persistent: bool) -> str:
    """Set a new password, end every session of the user and start one for this browser; returns its token.

    All at once, with the "password changed" message: a session stolen with the old password dies with it."""
    async with state.hasher.slot(browser["client_address"]):  # hashing is shared fairly (passwords.Hasher.slot)
        password_hash = await state.hasher.hash(new_password)  # before the transaction, which would hold its connection
    async with state.db.transaction():
        await state.db.execute(state.queries.update_user_password_hash, {"id": user.id, "password_hash": password_hash})
        token = await accounts.create_session(state, user.id, persistent=persistent, **browser)
        await state.db.execute(state.queries.delete_other_sessions, {"user_id": user.id, "token_hash": hash_token(token)})
        await account_links.end_reset_links(state, user.id)
        context = {"name": user.name, "link": mail.link(state.settings, "/accounts/reset-password"), "from_settings": True}
        await mail.queue(state, to=user.email, template="password_changed", context=context, user_id=user.id)
    return token


async def delete_account(state, user: User) -> None:
    """Delete the user and, by foreign keys, everything of theirs; the goodbye message is queued without a
    user, so that it is not deleted with them. The email is free for a new signup at once."""
    async with state.db.transaction():
        await mail.queue(state, to=user.email, template="account_deleted", context={"name": user.name})
        await state.db.execute(state.queries.delete_user, {"id": user.id})
    # Its hits go with it: SQLite may give the next account the same id.
    await rate_limits.clear(state.db, state.queries, rate_limits.email_change_user_limit(state.settings, user.id))
