"""Two-factor authentication: the login's second step (/accounts/login/code) and its section of Settings.

The login step: routes.accounts.login, after a correct password of a user with TOTP on, leaves a pending
login (hxauth.two_factor) whose token this browser keeps under `pending_login`, and sends it here; a right
code ends it in routes.accounts.finish_login, like every login. The Settings forms (turn on, cancel, new
recovery codes, turn off) share one block of templates/accounts/settings.html, `two_factor_form`, which each
swaps under htmx; without JavaScript each is a plain post.
"""

from urllib.parse import quote

from starlette.routing import Route

from hxauth import audit, two_factor
from hxauth.accounts import TooManyAttempts
from hxauth.guards import redirect_if_user_is_authenticated
from hxauth.pages import FLASH_MESSAGES, redirect, render, wants_fragment
from hxauth.requests import client_address, posted_form
from routes import settings as settings_page
from routes.accounts import LOGIN_CODE_PAGE, finish_login

SECTION = "two_factor"
SETTINGS = settings_page.PAGE + "/two-factor"
# One message for a wrong code and a used one: either way the user needs the code the app shows now.
WRONG_CODE = "That code is wrong or was used already. Enter the code your app shows now, or a recovery code."
NO_CODE = "Enter the 6-digit code from your app, or a recovery code."


def _wait(retry_after: int) -> str:
    minutes = (retry_after + 59) // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# The login's second step.


def _start_again(request, pending):
    """No live pending login for this browser: back to the login form, saying so if it expired."""
    request.session.pop("pending_login", None)
    if pending is None:
        return redirect(request, "/accounts/login")
    login = "/accounts/login" if pending.next_url == "/" else "/accounts/login?next=" + quote(pending.next_url, safe="")
    return redirect(request, login, flash="login_code_expired")


def _code_step(request, *, status_code=200, headers=None, error=None, errors=None, block="content"):
    context = {"error": error, "errors": errors or {}}
    return render(request, "accounts/login_code.html", context, block=block, status_code=status_code, headers=headers)


@redirect_if_user_is_authenticated
async def login_code_form(request):
    """The second step: "Enter the 6-digit code from your app, or a recovery code"."""
    pending = await two_factor.pending_login(request.app.state, request.session.get("pending_login"))
    if pending is None or pending.expired:
        return _start_again(request, pending)
    return _code_step(request)


@redirect_if_user_is_authenticated
async def login_with_code(request):
    """A right code (or an unused recovery code) ends the pending login in a session; then `next`."""
    state, token = request.app.state, request.session.get("pending_login")
    code = posted_form(request).get("code", "")
    pending = await two_factor.pending_login(state, token)
    if pending is None or pending.expired:
        return _start_again(request, pending)
    if not two_factor.clean_code(code):
        return _code_step(request, status_code=422, errors={"code": NO_CODE}, block="form")
    user = pending.user
    try:
        method = await two_factor.log_in_with_code(state, token, pending, code, client=client_address(request))
    except two_factor.LoginExpired:
        return _start_again(request, None)
    except TooManyAttempts as limited:
        audit.record(request, "login.code_limited", user_id=user.id, retry_after=limited.retry_after)
        audit.record_lockouts(request, limited, user_id=user.id)
        message = f"Too many wrong codes. Try again in {_wait(limited.retry_after)}."
        headers = {"Retry-After": str(limited.retry_after)}
        return _code_step(request, status_code=429, headers=headers, error=message, block="form")
    except two_factor.WrongCode:
        audit.record(request, "login.code_failure", user_id=user.id)
        return _code_step(request, status_code=422, errors={"code": WRONG_CODE}, block="form")
    if method == "recovery_code":
        audit.record(request, "login.recovery_code_used", user_id=user.id)
    return await finish_login(request, user, next_url=pending.next_url, persistent=pending.persistent, method=method)


# Settings.


async def _section(request, *, status_code=200, headers=None, errors=None, **context):
    errors = {SECTION: errors} if errors else None
    return await settings_page.render_section(request, SECTION, status_code=status_code, headers=headers, errors=errors, **context)


async def _done(request, flash: str | None = None, **context):
    """Changed: under htmx the section again (with its message); a plain post goes back to the section."""
    if not wants_fragment(request):
        return redirect(request, settings_page.PAGE + "#two-factor", flash=flash)
    notices = {SECTION: FLASH_MESSAGES[flash]} if flash else {}
    return await _section(request, notices=notices, **context)


@settings_page.logged_in
async def start_two_factor(request):
    """Make a secret and show it (QR code and text), waiting for its first code; nothing is on yet."""
    if await two_factor.start_setup(request.app.state, request.user):
        audit.record(request, "two_factor.setup_started", user_id=request.user.id)
    return await _done(request, focus="two-factor-code")


@settings_page.logged_in
async def cancel_two_factor(request):
    """Forget the secret that waits for its first code."""
    await two_factor.cancel_setup(request.app.state, request.user)
    return await _done(request, "two_factor_cancelled")


@settings_page.logged_in
async def enable_two_factor(request):
    """A right code from the app turns it on; the ten recovery codes are shown now, and never again."""
    state, user = request.app.state, request.user
    code = posted_form(request).get("code", "")
    if not two_factor.clean_code(code):
        return await _section(request, status_code=422, errors={"code": "Enter the 6-digit code your app shows."}, focus="two-factor-code")
    codes = await two_factor.enable(state, user, code)
    if codes is None:
        if await two_factor.is_on(state, user.id):
            return await _done(request)  # on already (another tab): the page shows so
        audit.record(request, "two_factor.wrong_code", user_id=user.id)
        error = "That is not the code your app shows. Check that its clock is right, and enter the newest code."
        return await _section(request, status_code=422, errors={"code": error}, focus="two-factor-code")
    audit.record(request, "two_factor.enabled", user_id=user.id)
    notice = "Two-factor authentication is on. Save your recovery codes now: they are shown only this once."
    return await _section(request, notices={SECTION: notice}, recovery_codes=codes, focus="recovery-codes")


@settings_page.logged_in
async def new_recovery_codes(request):
    """Ten new recovery codes in place of the old ones (needs the password); shown once."""
    state, user = request.app.state, request.user
    password = posted_form(request).get("current_password", "")
    focus = "recovery-codes-current-password"
    if not password:
        return await _section(request, status_code=422, errors={"codes_password": "Enter your current password."}, focus=focus)
    if refused := await settings_page.refuse_password(request, SECTION, password, field="codes_password", focus=focus):
        return refused
    codes = await two_factor.replace_recovery_codes(state, user)
    if codes is None:
        return await _done(request)  # off meanwhile
    audit.record(request, "two_factor.recovery_codes_new", user_id=user.id)
    notice = "These are your new recovery codes; the old ones no longer work. Save them now: they are shown only this once."
    return await _section(request, notices={SECTION: notice}, recovery_codes=codes, focus="recovery-codes")


@settings_page.logged_in
async def disable_two_factor(request):
    """Turn it off: needs the password and a code from the app (or a recovery code)."""
    state, user, form = request.app.state, request.user, posted_form(request)
    password, code = form.get("current_password", ""), form.get("code", "")
    errors = {}
    if not password:
        errors["off_password"] = "Enter your current password."
    if not two_factor.clean_code(code):
        errors["off_code"] = NO_CODE
    if errors:
        focus = "two-factor-off-current-password" if "off_password" in errors else "two-factor-off-code"
        return await _section(request, status_code=422, errors=errors, focus=focus)
    if refused := await settings_page.refuse_password(
        request, SECTION, password, field="off_password", focus="two-factor-off-current-password"
    ):
        return refused
    try:
        method = await two_factor.disable(state, user, code, client=client_address(request))
    except TooManyAttempts as limited:
        audit.record(request, "two_factor.code_limited", user_id=user.id, retry_after=limited.retry_after)
        audit.record_lockouts(request, limited, user_id=user.id)
        errors = {"off_code": f"Too many wrong codes. Try again in {_wait(limited.retry_after)}."}
        headers = {"Retry-After": str(limited.retry_after)}
        return await _section(request, status_code=429, headers=headers, errors=errors, focus="two-factor-off-code")
    except two_factor.WrongCode:
        audit.record(request, "two_factor.wrong_code", user_id=user.id)
        return await _section(request, status_code=422, errors={"off_code": WRONG_CODE}, focus="two-factor-off-code")
    audit.record(request, "two_factor.disabled", user_id=user.id, method=method)
    return await _done(request, "two_factor_off")


routes = [
    Route(LOGIN_CODE_PAGE, login_code_form, methods=["GET"]),
    Route(LOGIN_CODE_PAGE, login_with_code, methods=["POST"]),
    Route(SETTINGS + "/start", start_two_factor, methods=["POST"]),
    Route(SETTINGS + "/cancel", cancel_two_factor, methods=["POST"]),
    Route(SETTINGS + "/enable", enable_two_factor, methods=["POST"]),
    Route(SETTINGS + "/recovery-codes", new_recovery_codes, methods=["POST"]),
    Route(SETTINGS + "/disable", disable_two_factor, methods=["POST"]),
]
