"""/accounts/settings: one page with a section per task (name, email, password, sessions, delete), each a form.

Each form swaps itself under htmx (its block of templates/accounts/settings.html: 422 with
the errors by their fields, or the section with a message) and works as a plain post (303
back to the page with a flash message, or the page again with the errors).
"""

import dataclasses
import functools

from starlette.routing import Route

from hxauth import account_settings, accounts, audit, auth, devices, passkeys, sessions, two_factor
from hxauth.account_settings import WrongPassword
from hxauth.accounts import EmailTaken, TooManyAttempts
from hxauth.guards import require_authenticated_user
from hxauth.pages import FLASH_COOKIE, FLASH_MESSAGES, clear_flash, error, flash_message, redirect, render, wants_fragment
from hxauth.passwords import password_problem
from hxauth.requests import client_address, posted_form

PAGE = "/accounts/settings"
TEMPLATE = "accounts/settings.html"
SECTIONS = ("name", "email", "password", "two_factor", "passkeys", "sessions", "delete")
# The section each flash (pages.FLASH_MESSAGES) after a change is shown in.
FLASH_SECTIONS = {
    "name_changed": "name", "email_sent": "email", "email_changed": "email", "password_changed": "password",
    "session_ended": "sessions", "session_gone": "sessions", "others_ended": "sessions",
    "two_factor_cancelled": "two_factor", "two_factor_off": "two_factor",
    "passkey_added": "passkeys", "passkey_renamed": "passkeys", "passkey_removed": "passkeys", "passkey_gone": "passkeys",
}
BAD_LINK = "This link is unknown, used or expired, or it is for another account. Ask for a new one in Settings."


def logged_in(handler):
    """require_authenticated_user for a settings form; a plain post comes back to the page after the login
    (the form's address has no page of its own)."""
    guarded = require_authenticated_user(handler)

    @functools.wraps(handler)
    async def settings_form(request):
        if not request.user.is_authenticated and request.headers.get("hx-request") != "true":
            return redirect(request, "/accounts/login?next=" + PAGE)
        return await guarded(request)

    return settings_form


async def _page(request, *, user=None, values=None, errors=None, notices=None, focus=None, recovery_codes=None) -> dict:
    """The page's context: every section's values, errors (by section, then field) and message.
    `recovery_codes`: new ones, shown this once (routes/two_factor.py)."""
    user = user or request.user
    state = request.app.state
    return {
        "user": user,
        "values": {"name": user.name, "email": "", **(values or {})},
        "errors": {**{section: {} for section in SECTIONS}, **(errors or {})},
        "notices": notices or {},
        "focus": focus,
        "sessions": await sessions.list_sessions(state, user.id, request.session["token"]),
        "passkeys": await passkeys.list_passkeys(state, user.id),
        "password_min_length": state.settings.password_min_length,
        "two_factor": await two_factor.status(state, user),
        "recovery_codes": recovery_codes,
    }


async def render_section(request, section: str, *, status_code=200, headers=None, **context):
    """One section again (for htmx its block; a plain post gets the whole page)."""
    page = await _page(request, **context)
    return render(request, TEMPLATE, page, block=f"{section}_form", status_code=status_code, headers=headers)


async def done(request, flash: str, **context):
    """A change made: under htmx the section again with its message; a plain post goes back to the page."""
    if not wants_fragment(request):
        return redirect(request, PAGE, flash=flash)
    section = FLASH_SECTIONS[flash]
    return await render_section(request, section, notices={section: FLASH_MESSAGES[flash]}, **context)


async def refuse_password(request, section: str, password: str, *, field="current_password", focus=None, errors=None, **context):
    """None if `password` is the user's; else the section again with why: a wrong current password is a
    login attempt (422), and past the login limits of this account and client a 429. `field`, `focus` and
    `errors`: the field's error key and id, and more of the section's errors, where a section has several
    password fields (two-factor, passkeys)."""
    state, user = request.app.state, request.user
    refused = None
    try:
        await account_settings.check_current_password(
            state, user, password, client=client_address(request), device=devices.presented(request)
        )
    except WrongPassword:
        audit.record(request, "settings.wrong_password", user_id=user.id, section=section)
        refused = 422, {}, "That is not your current password."
    except TooManyAttempts as locked:
        audit.record(request, "settings.locked", user_id=user.id, section=section, retry_after=locked.retry_after)
        audit.record_lockouts(request, locked, email=user.email)
        minutes = (locked.retry_after + 59) // 60
        message = f"Too many wrong passwords. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        refused = 429, {"Retry-After": str(locked.retry_after)}, message
    if refused is None:
        return None
    status_code, headers, message = refused
    errors = {section: {field: message, **(errors or {})}}
    focus = focus or f"{section}-current-password"
    return await render_section(request, section, status_code=status_code, headers=headers, errors=errors, focus=focus, **context)


def _password_missing(form) -> dict:
    return {} if form.get("current_password") else {"current_password": "Enter your current password."}


@require_authenticated_user
async def settings_page(request):
    """The settings page; a flash from a plain post is shown once, in its section."""
    section, message = FLASH_SECTIONS.get(request.cookies.get(FLASH_COOKIE, "")), flash_message(request)
    notices = {section: message} if section and message else {}
    return clear_flash(request, render(request, TEMPLATE, await _page(request, notices=notices)))


@logged_in
async def change_name(request):
    """Rename the user (the signup rules)."""
    name, problem = accounts.check_name(posted_form(request).get("name", ""))
    if problem:
        return await render_section(request, "name", status_code=422, values={"name": name}, errors={"name": {"name": problem}}, focus="name")
    await account_settings.change_name(request.app.state, request.user, name)
    audit.record(request, "settings.name_changed", user_id=request.user.id)
    return await done(request, "name_changed", user=dataclasses.replace(request.user, name=name))


@logged_in
async def request_email_change(request):
    """Send a link to the new address (which changes nothing yet) and tell the present one."""
    state, user, form = request.app.state, request.user, posted_form(request)
    email, problem = accounts.check_email(form.get("email", ""))
    errors = {"email": problem} if problem else {}
    if not problem and email == accounts.normalize_email(user.email):
        errors["email"] = "That is already your email address."
    errors.update(_password_missing(form))
    values = {"email": email}
    if errors:
        focus = "new-email" if "email" in errors else "email-current-password"
        return await render_section(request, "email", status_code=422, values=values, errors={"email": errors}, focus=focus)
    if refused := await refuse_password(request, "email", form["current_password"], values=values):
        return refused
    try:
        await account_settings.request_email_change(state, user, email, client=client_address(request))
    except EmailTaken:
        errors = {"email": {"email": "Another account uses that address."}}
        return await render_section(request, "email", status_code=409, values=values, errors=errors, focus="new-email")
    except TooManyAttempts as limited:
        errors = {"email": {"email": "You asked for too many changes of email. Try again later."}}
        headers = {"Retry-After": str(limited.retry_after)}
        return await render_section(request, "email", status_code=429, headers=headers, values=values, errors=errors, focus="new-email")
    audit.record(request, "settings.email_change_requested", user_id=user.id, new_email=email)
    return await done(request, "email_sent")


@require_authenticated_user
async def email_change_page(request):
    """(At /accounts/confirm/{token}, through routes/confirm_email.py.) The page a new address's link opens: a button, since opening a link must not change anything
    (mail scanners open links too)."""
    token = request.path_params["token"]
    new_email = await account_settings.pending_email_change(request.app.state, request.user, token)
    if new_email is None:
        return error(request, 404, BAD_LINK)
    return render(request, "accounts/confirm_new_email.html", {"new_email": new_email, "token": token, "problem": None})


@require_authenticated_user
async def confirm_email_change(request):
    """Move the account to the address the link was sent to."""
    token = request.path_params["token"]
    try:
        new_email = await account_settings.confirm_email_change(request.app.state, request.user, token)
    except EmailTaken as taken:
        context = {"new_email": str(taken), "token": token, "problem": "Another account uses that address now, so your email stays as it is."}
        return render(request, "accounts/confirm_new_email.html", context, block="form", status_code=409)
    if new_email is None:
        return error(request, 404, BAD_LINK)
    audit.record(request, "settings.email_changed", user_id=request.user.id, email=new_email)
    return redirect(request, PAGE, flash="email_changed")


@logged_in
async def change_password(request):
    """A new password: every other session ends, and this browser gets a new session token."""
    state, user, form = request.app.state, request.user, posted_form(request)
    new_password = form.get("new_password", "")
    errors = _password_missing(form)
    if problem := password_problem(new_password, state.settings.password_min_length, name=user.name, email=user.email):
        errors["new_password"] = problem
    if errors:
        focus = "password-current-password" if "current_password" in errors else "new-password"
        return await render_section(request, "password", status_code=422, errors={"password": errors}, focus=focus)
    if refused := await refuse_password(request, "password", form["current_password"]):
        return refused
    persistent = auth.is_persistent(request)
    token = await account_settings.change_password(state, user, new_password, browser=auth.browser(request), persistent=persistent)
    auth.use_session(request, token, persistent=persistent)
    audit.record(request, "settings.password_changed", user_id=user.id)
    # The whole page again, for htmx too: every form's CSRF token changed with the session token.
    response = redirect(request, PAGE, flash="password_changed")
    # The new password voided every device cookie of the account (hxauth.devices); this browser just proved both.
    devices.give(request, response, user.id, await accounts.get_password_hash(state, user.id))
    return response


@logged_in
async def end_session(request):
    """Log out one other session of the user's, at once."""
    session_id = posted_form(request).get("session_id", "")
    ended = await sessions.end_session(request.app.state, request.user.id, session_id, request.session["token"])
    if ended:
        audit.record(request, "session.revoked", user_id=request.user.id, session_id=session_id)
    return await done(request, "session_ended" if ended else "session_gone")


@logged_in
async def end_other_sessions(request):
    """Log out every session of the user's but this one."""
    ended = await sessions.end_other_sessions(request.app.state, request.user.id, request.session["token"])
    audit.record(request, "session.revoked", user_id=request.user.id, others=ended)
    return await done(request, "others_ended")


@logged_in
async def delete_account(request):
    """Delete the account and everything of it; then home, logged out."""
    state, user, form = request.app.state, request.user, posted_form(request)
    errors = _password_missing(form)
    if form.get("confirm") != "yes":
        errors["confirm"] = "Tick this box to confirm that the account should go."
    if errors:
        focus = "delete-current-password" if "current_password" in errors else "confirm-delete"
        return await render_section(request, "delete", status_code=422, errors={"delete": errors}, focus=focus)
    if refused := await refuse_password(request, "delete", form["current_password"]):
        return refused
    await account_settings.delete_account(state, user)
    audit.record(request, "account.deleted", user_id=user.id)
    request.session.clear()  # its row went with the user
    return redirect(request, "/", flash="account_deleted")


routes = [
    Route(PAGE, settings_page, methods=["GET"]),
    Route(PAGE + "/name", change_name, methods=["POST"]),
    Route(PAGE + "/email", request_email_change, methods=["POST"]),
    Route(PAGE + "/password", change_password, methods=["POST"]),
    Route(PAGE + "/sessions/end", end_session, methods=["POST"]),
    Route(PAGE + "/sessions/end-others", end_other_sessions, methods=["POST"]),
    Route(PAGE + "/delete", delete_account, methods=["POST"]),
]
