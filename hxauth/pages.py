"""Rendering: a whole page for browsers and boosted navigations, one block of it for htmx swaps."""

from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hxauth import csrf
from hxauth.requests import request_id

ROOT = Path(__file__).resolve().parent.parent
VARY = "HX-Request, HX-Request-Type"


class Environment(jinja2.Environment):
    def make_globals(self, d):
        """The environment's own globals dict, not Jinja's ChainMap over it, for a template that brings none of
        its own (all of ours). Every render copies them, and a ChainMap is copied key by key in Python: a fifth
        of the login page's render (80,000 instructions). It is the same dict, so a global added later is seen."""
        return self.globals if not d else super().make_globals(d)


# Templates are compiled once and kept; with `auto_reload` (set by app.create_app in development or with
# DEBUG) an edited template is compiled again on its next use.
environment = Environment(
    loader=jinja2.FileSystemLoader(ROOT / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    auto_reload=False,
    cache_size=-1,  # every template kept (there are a handful), in a plain dict rather than an LRU with a lock
)


def field(name, label, error=None, value="", type="text", autocomplete=None, hint=None, autofocus=False, id=None) -> Markup:
    """One labelled input with its hint and error, tied together for screen readers (`aria-describedby`,
    `aria-invalid`); every input is `required` (the forms say `novalidate`). A global, so every template,
    and a block rendered alone (what htmx gets), can call it: `{{ field("email", "Email", errors.get("email")) }}`.

    Plain Python rather than a Jinja macro (templates/_form.html until 2026-12-03): a call of the macro cost
    58,000 instructions (Jinja binds its arguments and escapes each value through its runtime), this 26,000.
    Every value is escaped here (`_escape`), as autoescape would; the result is Markup, so Jinja writes it as it is.
    `id` (default: the name) tells apart two fields of one name on a page (the settings page's current_password).
    """
    name = _escape(name)
    id = _escape(id) if id else name
    described = []  # aria-describedby: the hint's id, then the error's
    lines = [f'<div class="field{" invalid" if error else ""}">', f'  <label for="{id}">{_escape(label)}</label>']
    if hint:
        lines.append(f'  <p class="hint" id="{id}-hint">{_escape(hint)}</p>')
        described.append(f"{id}-hint")
    if error:
        lines.append(f'  <p class="error" id="{id}-error">{_escape(error)}</p>')
        described.append(f"{id}-error")
    attributes = f'id="{id}" name="{name}" type="{_escape(type)}" value="{_escape(value)}" required'
    if autocomplete:
        attributes += f' autocomplete="{_escape(autocomplete)}"'
    if described:
        attributes += f' aria-describedby="{" ".join(described)}"'
    if error:
        attributes += ' aria-invalid="true"'
    if autofocus:
        attributes += " autofocus"
    lines += [f"  <input {attributes}>", "</div>"]
    return Markup("\n".join(lines))


def _escape(value) -> str:
    """`value` as autoescape writes it. A str (the usual case) gets markupsafe's own five replacements (its
    pure-Python version, character for character) and stays a str: markupsafe.escape makes a Markup of every
    value, through Markup.__new__ in Python, about 4,000 instructions each here. Anything else (Markup, a
    number, an undefined variable) goes to markupsafe.escape as usual."""
    if type(value) is str:
        return value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace("'", "&#39;").replace('"', "&#34;")
    return escape(value)


def passkeys_here(request: Request) -> bool:
    """WebAuthn ties a passkey to BASE_URL's host name, and browsers refuse it on any other (such as 127.0.0.1
    in development, where BASE_URL says localhost): there the pages offer no passkeys."""
    return request.url.hostname == urlsplit(request.app.state.settings.base_url).hostname


environment.globals["field"] = field
environment.globals["passkeys_here"] = passkeys_here


def wants_fragment(request: Request) -> bool:
    """An htmx swap of one element. Boosted links, HX-Location and history restores say `full`."""
    headers = request.headers
    return headers.get("hx-request") == "true" and headers.get("hx-request-type") == "partial"


def render(request: Request, name: str, context: dict | None = None, *, block: str = "content", status_code: int = 200, headers=None) -> Response:
    """The page `name`, or only its `block` for an htmx swap of one element.

    The rule: a request with `HX-Request: true` and `HX-Request-Type: partial` gets the block
    (a GET of any page: its `content`; a form's submission passes `block="form"`, an error
    page's alert is `alert`); every other request, boosted navigations and history restores
    (`HX-Request-Type: full`) included, gets the whole page. Both say `Vary: HX-Request, HX-Request-Type`.
    """
    template = environment.get_template(name)
    context = {"request": request, "user": request.user, "csrf_token": csrf.TemplateToken(request), **(context or {})}
    if wants_fragment(request) and block in template.blocks:  # a page without the block: the whole page
        html = environment.concat(template.blocks[block](template.new_context({**context, "fragment": True})))
    else:
        html = template.render(context)
    return HTMLResponse(html, status_code, {"Vary": VARY, **(headers or {})})


def replace_page(request: Request, name: str, context: dict | None = None, *, status_code: int, headers=None) -> Response:
    """The page `name` in place of the one the user is on, also when an htmx form asked for its own swap: then its
    `content` goes into <main> (a link that turned out to be used up replaces its form, not just the form)."""
    headers = dict(headers or {})
    if wants_fragment(request):
        headers.update({"HX-Retarget": "#main", "HX-Reswap": "innerHTML"})
    return render(request, name, context, status_code=status_code, headers=headers)


def redirect(request: Request, url: str, *, flash: str | None = None) -> Response:
    """303 for browsers; for htmx (whose fetch would follow a 3xx silently) a 200 with HX-Location.

    `flash`: a key of FLASH_MESSAGES, shown once by the next page (the login page, home)."""
    if request.headers.get("hx-request") == "true":
        response = Response(status_code=200, headers={"HX-Location": url, "Vary": VARY})
    else:
        response = RedirectResponse(url, status_code=303, headers={"Vary": VARY})
    if flash:
        secure = request.url.scheme == "https"
        response.set_cookie(FLASH_COOKIE, flash, max_age=60, path="/", httponly=True, samesite="lax", secure=secure)
    return response


# One-time messages carried across a redirect; the cookie holds only the key, so nobody can make a page say anything.
FLASH_COOKIE = "flash"
FLASH_MESSAGES = {
    "signed_up": "Your account is ready. Log in to continue.",
    "signed_up_confirm": "Check your email: we sent a link to confirm your address. Open it, then log in.",
    "password_reset": "Your password was changed, and every browser logged in to your account was logged out. Log in with the new password.",
    "email_confirmed": "Your email address is confirmed.",
    "email_confirmed_log_in": "Your email address is confirmed. Log in to continue.",
    "confirmation_sent": "We sent a new confirmation link. Check your inbox.",
    "login_code_expired": "That took too long. Log in again, then enter the code from your app.",
    # The settings page shows these in their section (routes/settings.py).
    "name_changed": "Your name is saved.",
    "email_sent": "We sent a link to your new address. Your email changes when you open it.",
    "email_changed": "Your email address is changed.",
    "password_changed": "Your password is changed, and every other session is logged out.",
    "session_ended": "That session is logged out.",
    "session_gone": "That session had already ended.",
    "others_ended": "Every other session is logged out.",
    "two_factor_cancelled": "Two-factor authentication stays off.",
    "two_factor_off": "Two-factor authentication is off. Logging in takes your password alone.",
    "passkey_added": "Your passkey is added. You can log in with it now.",
    "passkey_renamed": "The passkey's name is saved.",
    "passkey_removed": "That passkey is removed.",
    "passkey_gone": "That passkey had already been removed.",
    "account_deleted": "Your account and everything in it are deleted. Goodbye!",
}


def flash_message(request: Request) -> str | None:
    return FLASH_MESSAGES.get(request.cookies.get(FLASH_COOKIE, ""))


def clear_flash(request: Request, response: Response) -> Response:
    """After the page that showed it: the message is shown once."""
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


# Each error status: its page's title, and what the page says when the code that answered said nothing more.
ERRORS = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Forbidden", "You are not allowed to do that."),
    404: ("Page not found", "There is no page at this address."),
    405: ("Method not allowed", "This page does not accept that kind of request."),
    408: ("Too slow", "The request took too long to arrive. Please try again."),
    413: ("Too large", "That request is too large."),
    415: ("Unsupported form", "That kind of content is not accepted here."),
    422: ("Check the form", "Some of what was sent needs correcting."),
    429: ("Too many attempts", "Too many requests. Wait a little and try again."),
    500: ("Something went wrong", "An unexpected error happened on our side. Please try again."),
    503: ("Temporarily unavailable", "The site cannot reach its database right now. Please try again in a few seconds."),
}


def error(request: Request, status_code: int, message: str | None = None, headers=None) -> Response:
    """An error page; for an htmx swap, an alert placed above the page (the form the user typed into stays)."""
    headers = dict(headers or {})
    if wants_fragment(request):
        headers.update({"HX-Retarget": "#alerts", "HX-Reswap": "innerHTML"})
    title, default_message = ERRORS.get(status_code, ("Error", "Something went wrong."))
    context = {"status_code": status_code, "title": title, "message": message or default_message, "reference": request_id(request)}
    return render(request, "error.html", context, block="alert", status_code=status_code, headers=headers)
