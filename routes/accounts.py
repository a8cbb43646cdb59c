"""/accounts: signup, login and logout, each a form (GET) and its submission (POST)."""

from urllib.parse import urlsplit

from starlette.routing import Route

from hxauth import accounts, audit, auth, rate_limits
from hxauth.guards import redirect_if_user_is_authenticated
from hxauth.pages import redirect, render
from hxauth.requests import client_address, posted_form

FLASH_COOKIE = "flash"
FLASH_MESSAGES = {"signed_up": "Your account is ready. Log in to continue."}
# One message whichever of the two was wrong, so the form does not reveal who has an account.
INVALID_LOGIN = "Invalid email or password."


def safe_next(url: str | None) -> str:
    """`url` if it is a path on this site, else "/": a login link must not send anyone elsewhere."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or any(ord(c) < 32 or ord(c) == 127 for c in url):
        return "/"
    return url


def _first_error(errors: dict, order: tuple) -> str | None:
    return next((name for name in order if name in errors), None)


def _text(form, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


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
        _text(form, "name"), _text(form, "email"), _text(form, "password"), settings.password_min_length
    )
    if errors:
        context = _signup_context(request, **values, errors=errors)
        return render(request, "accounts/signup.html", context, block="form", status_code=422)
    limits = rate_limits.signup_limits(settings, client_address(request))
    wait = await rate_limits.retry_after(state.db, state.queries, limits)
    if wait:
        audit.record(request, "signup.limited", retry_after=wait)
        context = _signup_context(request, **values, errors={"email": "Too many signups from your network. Try again later."})
        return render(request, "accounts/signup.html", context, block="form", status_code=429, headers={"Retry-After": str(wait)})
    await rate_limits.hit(state.db, state.queries, limits)
    try:
        user_id = await accounts.register_user(state.db, state.queries, state.hasher, password=_text(form, "password"), **values)
    except accounts.EmailTaken:
        audit.record(request, "signup.email_taken", email=values["email"])
        context = _signup_context(request, **values, errors={"email": "User already exists. Log in instead?"})
        return render(request, "accounts/signup.html", context, block="form", status_code=409)
    audit.record(request, "signup", user_id=user_id, email=values["email"])
    response = redirect(request, "/accounts/login")
    response.set_cookie(
        FLASH_COOKIE, "signed_up", max_age=60, path="/accounts/login", httponly=True, samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@redirect_if_user_is_authenticated
async def login_form(request):
    """The login page; a flash from signup is shown once."""
    flash = FLASH_MESSAGES.get(request.cookies.get(FLASH_COOKIE, ""))
    context = {"email": "", "errors": {}, "error": None, "first_error": None, "flash": flash,
               "next": safe_next(request.query_params.get("next"))}
    response = render(request, "accounts/login.html", context)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/accounts/login")
    return response


@redirect_if_user_is_authenticated
async def login(request):
    """Check the password and start a session; then go to `next` or home."""
    state, settings = request.app.state, request.app.state.settings
    form = posted_form(request)
    email, password, next_url = _text(form, "email"), _text(form, "password"), safe_next(_text(form, "next"))
    account = accounts.normalize_email(email)[: accounts.EMAIL_MAX_LENGTH]  # as matched, limited and logged
    context = {"email": account, "errors": {}, "error": None,
               "flash": None, "next": next_url, "first_error": None}

    def failed(status_code, message=None, errors=None, headers=None):
        context.update(error=message, errors=errors or {})
        context["first_error"] = _first_error(context["errors"], ("email", "password")) or "password"
        return render(request, "accounts/login.html", context, block="form", status_code=status_code, headers=headers)

    errors = {}
    if not email.strip():
        errors["email"] = "Enter your email address."
    if not password:
        errors["password"] = "Enter your password."
    if errors:
        return failed(422, errors=errors)

    limits = rate_limits.login_limits(settings, account, client_address(request))
    wait = await rate_limits.retry_after(state.db, state.queries, limits)
    if wait:
        audit.record(request, "login.locked", email=account, retry_after=wait)
        minutes = (wait + 59) // 60
        message = f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        return failed(429, message, headers={"Retry-After": str(wait)})

    user = await accounts.get_user_by_email_and_password(state.db, state.queries, state.hasher, email, password)
    if user is None:
        await rate_limits.hit(state.db, state.queries, limits)
        audit.record(request, "login.failure", email=account)
        return failed(422, INVALID_LOGIN)
    await rate_limits.clear(state.db, state.queries, limits[0])  # the owner got in: forget their typos
    await auth.log_in(request, user)
    audit.record(request, "login.success", user_id=user.id)
    return redirect(request, next_url)


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
