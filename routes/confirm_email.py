"""/accounts/confirm: the confirmation link's page and button, and "Send the link again".

A confirmation link confirms signup's address, or a new address after a change of email; the second kind
lives with the settings (hxauth.account_settings, routes/settings.py) and needs its owner logged in."""

from starlette.routing import Route

from hxauth import account_links, account_settings, accounts, audit
from hxauth.account_links import CONFIRM
from hxauth.pages import redirect, render, wants_fragment
from hxauth.requests import client_address
from routes import settings
from routes.reset_password import NO_REFERRER, link_refused


async def confirm_form(request):
    """The link's page: a "Confirm my email" button, since opening a link (mail scanners prefetch them) changes nothing."""
    token = request.path_params["token"]
    user = await account_links.get_user_by_token(request.app.state, token, CONFIRM)
    if user is None:
        if await account_settings.is_email_change_link(request.app.state, token):
            return await settings.email_change_page(request)
        return link_refused(request, CONFIRM)
    return render(request, "accounts/confirm_email.html", {"token": token, "email": user["email"]}, headers=NO_REFERRER)


async def confirm(request):
    """Mark the address confirmed; then home, or the login page for a browser that is not logged in."""
    user_id = await account_links.confirm_email(request.app.state, request.path_params["token"])
    if user_id is None:
        if await account_settings.is_email_change_link(request.app.state, request.path_params["token"]):
            return await settings.confirm_email_change(request)
        return link_refused(request, CONFIRM)
    audit.record(request, "confirm.confirmed", user_id=user_id)
    if request.user.is_authenticated:
        return redirect(request, "/", flash="email_confirmed")
    return redirect(request, "/accounts/login", flash="email_confirmed_log_in")


async def send_again(request):
    """The home page's "Send the link again": a new confirmation link, within the resend limit."""
    user = request.user
    if not user.is_authenticated:
        return redirect(request, "/accounts/login")
    if user.is_confirmed:
        return redirect(request, "/")
    try:
        await account_links.send_confirmation_again(request.app.state, user, client=client_address(request))
    except accounts.TooManyAttempts as limited:
        audit.record(request, "confirm.limited", user_id=user.id, retry_after=limited.retry_after)
        notice = "We already sent several links. Check your inbox and spam folder, or try again later."
        headers = {"Retry-After": str(limited.retry_after)}
        return render(request, "home.html", {"flash": None, "notice": notice}, block="confirm_notice", status_code=429, headers=headers)
    audit.record(request, "confirm.sent", user_id=user.id)
    if wants_fragment(request):
        notice = f"We sent a new link to {user.email}. Check your inbox."
        return render(request, "home.html", {"flash": None, "notice": notice}, block="confirm_notice")
    return redirect(request, "/", flash="confirmation_sent")


routes = [
    Route("/accounts/confirm", send_again, methods=["POST"]),
    Route("/accounts/confirm/{token}", confirm_form, methods=["GET"]),
    Route("/accounts/confirm/{token}", confirm, methods=["POST"]),
]
