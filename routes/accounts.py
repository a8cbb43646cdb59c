"""/accounts: signup, login and logout, each a form (GET) and its submission (POST)."""

from urllib.parse import quote, urlsplit

from starlette.routing import Route

from hxauth import account_links, accounts, audit, auth, devices, two_factor
from hxauth.guards import redirect_if_user_is_authenticated
from hxauth.pages import clear_flash, flash_message, redirect, render
from hxauth.requests import client_address, posted_form

# One message whichever of the two was wrong, so the form does not reveal who has an account.
INVALID_LOGIN = "Invalid email or password."
# The second step of a login with TOTP on (routes/two_factor.py).
LOGIN_CODE_PAGE = "/accounts/login/code"


def safe_next(url: str | None) -> str:
    """`url` if it is a path on this site, else "/": a login link must not send anyone elsewhere.

    What a URL may not carry is percent-encoded (an existing %XX stays): an HX-Location header holds Latin-1
    only, and a `next` of "/" U+3000 "/x" made the htmx login a 500 after its session row was written.
    """
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or any(ord(c) < 32 or ord(c) == 127 for c in url):
        return "/"
    return quote(url, safe="/?#&=;:@!$'()*+,%~[]")


def _first_error(errors: dict, order: tuple) -> str | None:
    return next((name for name in order if name in errors), None)


@redirect_if_user_is_authenticated
async def signup_form(request):
    """The signup page."""
    return render(request, "accounts/signup.html", _signup_context(request))


def _signup_context(request, *, name="", email="", errors=None):
    errors = errors or {}
    return {
        "name": name,
        "email": email,
        "errors": errors,
        "first_error": _first_error(errors, ("name", "email", "password")),
        "password_min_length": request.app.state.settings.password_min_length,
    }


@redirect_if_user_is_authenticated
async def signup(request):
    """Create an account, then send the new user to the login page."""
    state, settings = request.app.state, request.app.state.settings
    form = posted_form(request)
    values, errors = accounts.check_signup(
        form.get("name", ""), form.get("email", ""), form.get("password", ""), settings.password_min_length
    )
    if errors:
        context = _signup_context(request, **values, errors=errors)
        return render(request, "accounts/signup.html", context, block="form", status_code=422)
    try:
        user_id = await accounts.sign_up_attempt(
            state, password=form.get("password", ""), client=client_address(request), **values
        )
    except accounts.TooManyAttempts as limited:
        audit.record(request, "signup.limited", retry_after=limited.retry_after)
        context = _signup_context(request, **values, errors={"email": "Too many signups from your network. Try again later."})
        headers = {"Retry-After": str(limited.retry_after)}
        return render(request, "accounts/signup.html", context, block="form", status_code=429, headers=headers)
    except accounts.EmailTaken:
        audit.record(request, "signup.email_taken", email=values["email"])
        if settings.require_confirmed_email:
            # Only the address's owner can use the account, so the page says what it says to a new one, and
            # the owner hears of it by mail: the form no longer tells who has an account.
            await account_links.tell_owner_of_signup(state, values["email"])
            return redirect(request, "/accounts/login", flash="signed_up_confirm")
        context = _signup_context(request, **values, errors={"email": "User already exists. Log in instead?"})
        return render(request, "accounts/signup.html", context, block="form", status_code=409)
    audit.record(request, "signup", user_id=user_id, email=values["email"])
    audit.record(request, "confirm.sent", user_id=user_id)
    return redirect(request, "/accounts/login", flash="signed_up_confirm" if settings.require_confirmed_email else "signed_up")


@redirect_if_user_is_authenticated
async def login_form(request):
    """The login page; a flash from signup, a reset or a confirmation is shown once."""
    context = _login_context(next_url=safe_next(request.query_params.get("next")), flash=flash_message(request))
    return clear_flash(request, render(request, "accounts/login.html", context))


def _login_context(*, email="", next_url="/", remember=False, flash=None, error=None, errors=None):
    errors = errors or {}
    first_error = _first_error(errors, ("email", "password")) or ("password" if error else None)
    return {
        "email": email, "next": next_url, "remember": remember, "flash": flash, "error": error, "errors": errors,
        "first_error": first_error,
    }


def login_refused(request, status_code, headers=None, **context):
    """The form again, with what was wrong; never the password."""
    return render(request, "accounts/login.html", _login_context(**context), block="form", status_code=status_code, headers=headers)


@redirect_if_user_is_authenticated
async def login(request):
    """Check the password and start a session; then go to `next` or home."""
    form = posted_form(request)
    email, password, next_url = form.get("email", ""), form.get("password", ""), safe_next(form.get("next", ""))
    remember = form.get("remember") == "yes"  # "Keep me logged in"
    account = accounts.login_email(email)
    if errors := accounts.check_login(email, password):
        return login_refused(request, 422, email=account, next_url=next_url, remember=remember, errors=errors)
    try:
        user = await accounts.log_in_attempt(
            request.app.state, email, password, client=client_address(request), device=devices.presented(request)
        )
    except accounts.TooManyAttempts as locked:
        audit.record(request, "login.locked", email=account, retry_after=locked.retry_after)
        audit.record_lockouts(request, locked, email=account)
        minutes = (locked.retry_after + 59) // 60
        message = f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        headers = {"Retry-After": str(locked.retry_after)}
        return login_refused(request, 429, headers=headers, email=account, next_url=next_url, remember=remember, error=message)
    if user is None:
        audit.record(request, "login.failure", email=account)
        return login_refused(request, 422, email=account, next_url=next_url, remember=remember, error=INVALID_LOGIN)
    if request.app.state.settings.require_confirmed_email and not user.is_confirmed:
        return await login_unconfirmed(request, user, next_url)
    if await two_factor.is_on(request.app.state, user.id):
        return await ask_for_code(request, user, next_url=next_url, persistent=remember)
    return await finish_login(request, user, next_url=next_url, persistent=remember, method="password")


async def ask_for_code(request, user, *, next_url: str, persistent: bool):
    """TOTP is on: the password (or a passkey without user verification) was right, yet no session: a pending
    login for this browser (its token in the cookie beside the anonymous one, which the CSRF token derives
    from), then the code step."""
    previous = request.session.get("pending_login")
    token = await two_factor.start_login(request.app.state, user, next_url=next_url, persistent=persistent, replaces=previous)
    request.session["pending_login"] = token
    audit.record(request, "login.code_asked", user_id=user.id)
    return redirect(request, LOGIN_CODE_PAGE)


async def finish_login(request, user, *, next_url: str, persistent: bool, method: str):
    """The one way every login ends, whatever proved who the user is (`method`): a new session, then `next`."""
    await auth.log_in(request, user, persistent=persistent)
    audit.record(request, "login.success", user_id=user.id, persistent=persistent, method=method)
    response = redirect(request, next_url)
    devices.give(request, response, user.id, await accounts.get_password_hash(request.app.state, user.id))
    return response


async def login_unconfirmed(request, user, next_url):
    """REQUIRE_CONFIRMED_EMAIL: the password was right (only then is this said), the address is not confirmed yet:
    no session, and a new link (within the resend limit)."""
    audit.record(request, "login.unconfirmed", user_id=user.id)
    try:
        await account_links.send_confirmation_again(request.app.state, user, client=client_address(request))
    except accounts.TooManyAttempts:
        message = "Confirm your email address first, with the link we sent you. Check your spam folder too."
    else:
        audit.record(request, "confirm.sent", user_id=user.id)
        message = f"Confirm your email address first: we sent a new link to {user.email}. Open it, then log in."
    return login_refused(request, 403, email=user.email, next_url=next_url, error=message)


async def logout_form(request):
    """The seed's GET /accounts/logout: a page with a button, since a link must not change state."""
    if not request.user.is_authenticated:
        return redirect(request, "/")
    return render(request, "accounts/logout.html")


async def logout(request):
    """End the session on the server, then go home."""
    if request.user.is_authenticated:
        audit.record(request, "logout", user_id=request.user.id)
    await auth.log_out(request)
    return redirect(request, "/")


routes = [
    Route("/accounts/signup", signup_form, methods=["GET"]),
    Route("/accounts/signup", signup, methods=["POST"]),
    Route("/accounts/login", login_form, methods=["GET"]),
    Route("/accounts/login", login, methods=["POST"]),
    Route("/accounts/logout", logout_form, methods=["GET"]),
    Route("/accounts/logout", logout, methods=["POST"]),
]
