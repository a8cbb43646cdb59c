"""Passkeys: logging in with one (the login page), and adding, renaming and removing them (Settings, "Passkeys").

A ceremony is two posts, both through FormGuard like every form (form-encoded, with the
CSRF token). static/passkeys.js posts to an `options` route and gets JSON back for
@simplewebauthn/browser; the browser's signed answer then goes into a hidden field of an
ordinary form, posted by htmx (or plainly), and answered like every other form: the login
form or the settings section with a message (422, 429), or a redirect.
"""

from starlette.responses import Response
from starlette.routing import Route

from hxauth import audit, passkeys, two_factor
from hxauth.accounts import TooManyAttempts
from hxauth.auth import session_token
from hxauth.guards import redirect_if_user_is_authenticated
from hxauth.passkeys import PasskeyRefused
from hxauth.requests import client_address, posted_form
from routes import settings
from routes.accounts import ask_for_code, finish_login, login_refused, login_unconfirmed, safe_next

SECTION = "passkeys"


def _json(body: str, status_code: int = 200, headers=None) -> Response:
    """Options for the browser: JSON, never cached (a challenge is for one use)."""
    return Response(body, status_code, headers={"Cache-Control": "no-store", **(headers or {})}, media_type="application/json")


def _too_many(limited: TooManyAttempts) -> Response:
    body = '{"error": "Too many passkey requests from your network. Wait a little and try again."}'
    return _json(body, 429, {"Retry-After": str(limited.retry_after)})


async def login_options(request):
    """The options of a passkey login (the button, or the email field's autofill): a new challenge for this browser."""
    try:
        options = await passkeys.login_options(request.app.state, browser_token=session_token(request), client=client_address(request))
    except TooManyAttempts as limited:
        audit.record(request, "passkey.challenges_limited", retry_after=limited.retry_after)
        return _too_many(limited)
    return _json(options)


@redirect_if_user_is_authenticated
async def log_in_with_passkey(request):
    """Check the passkey's signature of this browser's challenge and log its user in: both factors at once when the
    authenticator verified the user; a touch alone stands for the password, so TOTP's code step still follows."""
    form = posted_form(request)
    next_url, remember = safe_next(form.get("next", "")), form.get("remember") == "yes"
    try:
        user, verified = await passkeys.log_in(
            request.app.state, form.get("credential", ""), browser_token=session_token(request), client=client_address(request)
        )
    except TooManyAttempts as locked:
        audit.record(request, "login.passkey_locked", retry_after=locked.retry_after)
        minutes = (locked.retry_after + 59) // 60
        message = f"Too many failed passkey logins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        headers = {"Retry-After": str(locked.retry_after)}
        return login_refused(request, 429, headers=headers, next_url=next_url, remember=remember, error=message)
    except PasskeyRefused as refused:
        audit.record(request, "login.passkey_failure", reason=refused.reason)
        return login_refused(request, 422, next_url=next_url, remember=remember, error=refused.message)
    if request.app.state.settings.require_confirmed_email and not user.is_confirmed:
        return await login_unconfirmed(request, user, next_url)
    if not verified and await two_factor.is_on(request.app.state, user.id):
        return await ask_for_code(request, user, next_url=next_url, persistent=remember)
    return await finish_login(request, user, next_url=next_url, persistent=remember, method="passkey")


async def _user_options(request, make_options):
    """The options of a ceremony for the logged-in user (adding a passkey, confirming with one)."""
    if not request.user.is_authenticated:
        return _json('{"error": "Your session ended. Log in again."}', 401)
    try:
        options = await make_options(request.app.state, request.user, browser_token=session_token(request), client=client_address(request))
    except TooManyAttempts as limited:
        audit.record(request, "passkey.challenges_limited", user_id=request.user.id, retry_after=limited.retry_after)
        return _too_many(limited)
    return _json(options)


async def registration_options(request):
    """The options for adding a passkey to the logged-in user's account."""
    return await _user_options(request, passkeys.registration_options)


async def confirm_options(request):
    """The options for confirming a change with one of the user's passkeys (instead of the password)."""
    return await _user_options(request, passkeys.confirm_options)


def _add_refused(request, message: str, status_code: int = 422):
    return settings.render_section(request, SECTION, status_code=status_code, errors={SECTION: {"add": message}}, focus="add-passkey")


@settings.logged_in
async def add_passkey(request):
    """Keep the passkey the browser just made, once its registration verifies; a message goes to the user."""
    state, user, form = request.app.state, request.user, posted_form(request)
    try:
        name = await passkeys.add_passkey(
            state, user, form.get("credential", ""), name="", browser_token=session_token(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except PasskeyRefused as refused:
        audit.record(request, "passkey.add_failure", user_id=user.id, reason=refused.reason)
        return await _add_refused(request, refused.message)
    audit.record(request, "passkey.added", user_id=user.id, passkey=name)
    return await settings.done(request, "passkey_added")


@settings.logged_in
async def rename_passkey(request):
    """A new name for one of the user's passkeys (works without JavaScript)."""
    state, user, form = request.app.state, request.user, posted_form(request)
    passkey = passkeys.passkey_id(form.get("passkey_id", ""))
    name, problem = passkeys.check_name(form.get("name", ""))
    if passkey is None:
        return await settings.done(request, "passkey_gone")
    if problem:
        errors = {SECTION: {"passkey": passkey, "name": problem}}
        return await settings.render_section(request, SECTION, status_code=422, errors=errors, values={"passkey_name": name}, focus=f"passkey-{passkey}-name")
    if not await passkeys.rename_passkey(state, user, passkey, name):
        return await settings.done(request, "passkey_gone")
    audit.record(request, "passkey.renamed", user_id=user.id, passkey_id=passkey)
    return await settings.done(request, "passkey_renamed")


async def _refuse_passkey(request, credential: str, passkey: int, focus: str):
    """None if one of the user's own passkeys signed `credential` (in place of the password); else the section
    with why (422), or 429 past the client's passkey limit."""
    user = request.user
    try:
        await passkeys.confirm(request.app.state, user, credential, browser_token=session_token(request), client=client_address(request))
    except TooManyAttempts as locked:
        audit.record(request, "passkey.confirm_locked", user_id=user.id, retry_after=locked.retry_after)
        minutes = (locked.retry_after + 59) // 60
        status_code, headers = 429, {"Retry-After": str(locked.retry_after)}
        message = f"Too many failed passkey tries. Try again in {minutes} minute{'s' if minutes != 1 else ''}, or enter your password."
    except PasskeyRefused as refused:
        audit.record(request, "passkey.confirm_failure", user_id=user.id, reason=refused.reason)
        status_code, headers, message = 422, None, refused.message
    else:
        return None
    errors = {SECTION: {"passkey": passkey, "current_password": message}}
    return await settings.render_section(request, SECTION, status_code=status_code, headers=headers, errors=errors, focus=focus)


@settings.logged_in
async def remove_passkey(request):
    """Remove one of the user's passkeys; it needs the current password (a wrong one is a login attempt), or a
    passkey of theirs (static/passkeys.js puts its signed answer in `credential`)."""
    state, user, form = request.app.state, request.user, posted_form(request)
    passkey = passkeys.passkey_id(form.get("passkey_id", ""))
    if passkey is None:
        return await settings.done(request, "passkey_gone")
    focus = f"passkey-{passkey}-current-password"
    if form.get("credential"):
        if refused := await _refuse_passkey(request, form["credential"], passkey, focus):
            return refused
    elif not form.get("current_password"):
        errors = {SECTION: {"passkey": passkey, "current_password": "Enter your current password, or confirm with a passkey."}}
        return await settings.render_section(request, SECTION, status_code=422, errors=errors, focus=focus)
    elif refused := await settings.refuse_password(request, SECTION, form["current_password"], focus=focus, errors={"passkey": passkey}):
        return refused
    name = await passkeys.remove_passkey(state, user, passkey)
    if name is None:
        return await settings.done(request, "passkey_gone")
    audit.record(request, "passkey.removed", user_id=user.id, passkey_id=passkey)
    return await settings.done(request, "passkey_removed")


routes = [
    Route("/accounts/login/passkey/options", login_options, methods=["POST"]),
    Route("/accounts/login/passkey", log_in_with_passkey, methods=["POST"]),
    Route(settings.PAGE + "/passkeys/options", registration_options, methods=["POST"]),
    Route(settings.PAGE + "/passkeys/add", add_passkey, methods=["POST"]),
    Route(settings.PAGE + "/passkeys/confirm-options", confirm_options, methods=["POST"]),
    Route(settings.PAGE + "/passkeys/rename", rename_passkey, methods=["POST"]),
    Route(settings.PAGE + "/passkeys/remove", remove_passkey, methods=["POST"]),
]
