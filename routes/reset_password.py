"""/accounts/reset-password: ask for a link by email ("Forgot your password?"), then choose a new password through it."""

from starlette.routing import Route

from hxauth import account_links, accounts, audit
from hxauth.account_links import RESET
from hxauth.pages import redirect, render, replace_page
from hxauth.passwords import password_problem
from hxauth.requests import client_address, posted_form

# The same words whether or not an account has the address: the answer must not tell who has one.
SENT = "If an account exists for {email}, we sent a link to reset its password. It works for {minutes} minutes."
# The token is in these pages' URLs: no request from them may carry it elsewhere in a Referer.
NO_REFERRER = {"Referrer-Policy": "no-referrer"}


async def reset_form(request):
    """The form asking for the account's email."""
    return render(request, "accounts/reset_password.html", {"email": "", "errors": {}, "sent": None})


def _reset_form(request, status_code, *, email, errors=None, sent=None, headers=None):
    context = {"email": email, "errors": errors or {}, "sent": sent}
    return render(request, "accounts/reset_password.html", context, block="form", status_code=status_code, headers=headers)


async def request_reset(request):
    """Mail a reset link if an account has this email, and answer the same either way."""
    state = request.app.state
    email, problem = accounts.check_email(posted_form(request).get("email", ""))
    if problem:
        return _reset_form(request, 422, email=email, errors={"email": problem})
    try:
        user_id = await account_links.request_password_reset(state, email, client=client_address(request))
    except accounts.TooManyAttempts as limited:
        audit.record(request, "reset.limited", email=email, retry_after=limited.retry_after)
        minutes = (limited.retry_after + 59) // 60
        error = f"Too many reset requests. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        return _reset_form(request, 429, email=email, errors={"email": error}, headers={"Retry-After": str(limited.retry_after)})
    audit.record(request, "reset.requested", email=email, user_id=user_id)
    return _reset_form(request, 200, email=email, sent=SENT.format(email=email, minutes=state.settings.reset_password_seconds // 60))


def link_refused(request, purpose: str):
    """The page for a link that does not work (unknown, used, expired, or for an address changed since), offering a new one."""
    audit.record(request, f"{purpose}.refused")
    return replace_page(request, "accounts/bad_link.html", {"purpose": purpose}, status_code=404, headers=NO_REFERRER)


def _new_password_form(request, user, *, status_code=200, error=None):
    context = {
        "token": request.path_params["token"],
        "email": user["email"],
        "error": error,
        "password_min_length": request.app.state.settings.password_min_length,
    }
    block = "form" if request.method == "POST" else "content"
    return render(request, "accounts/new_password.html", context, block=block, status_code=status_code, headers=NO_REFERRER)


async def new_password_form(request):
    """The link's page: a form for the new password (nothing changes until it is sent)."""
    user = await account_links.get_user_by_token(request.app.state, request.path_params["token"], RESET)
    if user is None:
        return link_refused(request, RESET)
    return _new_password_form(request, user)


async def reset_password(request):
    """Set the new password (the signup rules), end every session of the user, and send them to log in."""
    state, token = request.app.state, request.path_params["token"]
    user = await account_links.get_user_by_token(state, token, RESET)
    if user is None:
        return link_refused(request, RESET)
    password = posted_form(request).get("password", "")
    problem = password_problem(password, state.settings.password_min_length, name=user["name"], email=user["email"])
    if problem:
        return _new_password_form(request, user, status_code=422, error=problem)
    async with state.hasher.slot(client_address(request)):  # hashing is shared fairly (passwords.Hasher.slot)
        changed = await account_links.reset_password(state, token, password)
    if changed is None:  # used up meanwhile, by another request
        return link_refused(request, RESET)
    audit.record(request, "reset.completed", user_id=user["id"])
    if request.user.is_authenticated and request.user.id == user["id"]:
        request.session.clear()  # its session is gone from the server already
    return redirect(request, "/accounts/login", flash="password_reset")


routes = [
    Route("/accounts/reset-password", reset_form, methods=["GET"]),
    Route("/accounts/reset-password", request_reset, methods=["POST"]),
    Route("/accounts/reset-password/{token}", new_password_form, methods=["GET"]),
    Route("/accounts/reset-password/{token}", reset_password, methods=["POST"]),
]
