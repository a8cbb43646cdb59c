"""ASGI middleware: security headers, the session cookie, and the guard in front of every form post."""

import hashlib
import random
import re
from urllib.parse import parse_qsl, urlsplit

import anyio
from itsdangerous import TimestampSigner
from itsdangerous.signer import SigningAlgorithm
from starlette.datastructures import FormData
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Match

from hxauth import csrf, pages
from hxauth.requests import over_https
from hxauth.settings import derived_key

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    "cross-origin-opener-policy": "same-origin",
}
RAW_SECURITY_HEADERS = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items()]


class ResponseHeaders:
    """Every response carries the request's id and strict security headers; HTML pages depend on the
    session, so none is stored by caches. (One middleware: each layer costs every request a little.)

    The id is the proxy's X-Request-ID if it looks sane, else a new one; logs and error pages show it.
    """

    incoming = re.compile(rb"[A-Za-z0-9._-]{8,64}")

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        if "request_id" not in state:  # else this is the 500 page of a request that has one (errors.server_error)
            # Raw ASGI headers (names are lower-case): no Headers object for one look-up.
            sent = next((value for name, value in scope["headers"] if name == b"x-request-id"), b"")
            # Unique, not secret: no system call per request for it.
            state["request_id"] = sent.decode() if self.incoming.fullmatch(sent) else f"{random.getrandbits(64):016x}"
        request_id = state["request_id"]
        extra = [(b"x-request-id", request_id.encode())]
        if scope["scheme"] == "https":
            extra.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                # MutableHeaders.setdefault for each header, in one pass over the response's headers.
                raw = message["headers"] = list(message.get("headers", ()))
                present = {name.lower(): value for name, value in reversed(raw)}
                raw += [header for header in RAW_SECURITY_HEADERS if header[0] not in present]
                if present.get(b"content-type", b"").startswith(b"text/html") and b"cache-control" not in present:
                    raw.append((b"cache-control", b"no-store"))
                raw += extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Blake2bSignature(SigningAlgorithm):
    """itsdangerous' signature as keyed BLAKE2b. Its default, HMAC-SHA1 through Python's `hmac` with the key
    derived again on every call, took 18 µs here to check a logged-in visitor's cookie (this: 7)."""

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hashlib.blake2b(value, key=key, digest_size=32).digest()


def cookie_signer(secret_key: str) -> TimestampSigner:
    """The session cookie's signer: a timestamped BLAKE2b MAC under a key used for nothing else."""
    return TimestampSigner(derived_key("session", secret_key), key_derivation="none", algorithm=Blake2bSignature())


class ExpectedHost:
    """In production, a request for any host but BASE_URL's is a 400, before anything else runs: the site is one
    origin (its links, cookies and CSRF origin check assume it), so a `Host` it never served is a DNS-rebinding
    page, a poisoned cache's key or a misrouted request. The probes answer whatever the Host (load balancers
    ask for them by address)."""

    probes = {"/healthz", "/readyz"}

    def __init__(self, app, base_url: str):
        self.app = app
        self.host = urlsplit(base_url).hostname
        name = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address is bracketed in Host
        # The name and an optional port, nothing else (no "user@", which URL parsers would skip over).
        self.expected = re.compile(rb"%s(:[0-9]{1,5})?" % re.escape(name.encode("idna")), re.IGNORECASE)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] not in self.probes:
            sent = next((value for name, value in scope["headers"] if name == b"host"), b"")
            if not self.expected.fullmatch(sent):
                message = f"This site answers for {self.host} only."
                return await PlainTextResponse(message, status_code=400)(scope, receive, send)
        await self.app(scope, receive, send)


class StaticFirst:
    """Requests for /static/… go straight to the files (the same for everyone: no session, no user lookup),
    everything else on through the session stack to the routes. One string test, where a Mount per layer cost
    every page about 49,000 instructions."""

    def __init__(self, app, static):
        self.app = app
        self.static = static

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith("/static/"):
            return await self.static(scope, receive, send)
        await self.app(scope, receive, send)


class SessionCookie:
    """Starlette's SessionMiddleware, with `Secure` and the `__Host-` prefix when the request came over HTTPS,
    and a faster signature (`cookie_signer`).

    The cookie ends with the browser unless the session says `persistent` ("Keep me logged in", hxauth.auth):
    SessionMiddleware writes every cookie with `Max-Age` (and refuses one signed longer ago than that), and
    this takes the `Max-Age` out of the cookies that should not outlive the browser."""

    max_age_attribute = re.compile(rb"Max-Age=\d+; ")

    def __init__(self, app, secret_key: str, max_age: int):
        options = dict(secret_key=secret_key, max_age=max_age, same_site="lax")
        self.plain = SessionMiddleware(app, session_cookie="session", **options)
        self.secure = SessionMiddleware(app, session_cookie="__Host-session", https_only=True, **options)
        self.plain.signer = self.secure.signer = cookie_signer(secret_key)

    async def __call__(self, scope, receive, send):
        middleware = self.secure if over_https(scope) else self.plain
        if scope["type"] != "http":
            return await middleware(scope, receive, send)
        cookie = middleware.session_cookie.encode() + b"="

        async def send_browser_cookie(message):
            session = scope.get("session")
            if message["type"] == "http.response.start" and session is not None and session.modified and not session.get("persistent"):
                message["headers"] = [
                    (name, self.max_age_attribute.sub(b"", value, count=1) if name == b"set-cookie" and value.startswith(cookie) else value)
                    for name, value in message.get("headers", ())
                ]
            await send(message)

        await middleware(scope, receive, send_browser_cookie)


class FormGuard:
    """Every POST (PUT, PATCH, DELETE) must come from this site, carry the CSRF token and be a small form.

    Checks, in order: a route serves the method at this path (405 with `Allow`,
    so a wrong method is told so rather than about its body; a path no route
    has goes on to the router's 404), origin (403), content type (415), size (413, before the
    body is read in full), the whole body within `body_seconds` (408: a client trickling its form
    holds a connection and a task for as long as it likes otherwise), UTF-8 and at most `max_fields` fields (400), CSRF
    token in `X-CSRF-Token` or the `csrf_token` field (403). The parsed fields
    are then the route's `posted_form(request)` (hxauth/requests.py), parsed
    once; the body is replayed too, for a route that reads it raw.
    """

    safe_methods = {"GET", "HEAD"}  # every route that serves GET serves HEAD (Starlette adds it)
    form_type = "application/x-www-form-urlencoded"

    def __init__(self, app, max_body: int = 64 * 1024, max_fields: int = 50, body_seconds: float = 10):
        self.app = app
        self.max_body = max_body
        self.body_seconds = body_seconds
        self.max_fields = max_fields  # our forms have three or four; far more is not from our pages

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in self.safe_methods:
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        served, allowed = _methods_at(scope)
        if not served:
            if not allowed:  # no route has this path: the router's 404 (or its slash redirect), no handler runs
                return await self.app(scope, receive, send)
            headers = {"Allow": ", ".join(sorted(allowed))}
            return await pages.error(request, 405, headers=headers)(scope, receive, send)
        headers = request.headers
        if not self._same_origin(request):
            return await pages.error(request, 403, "This form was sent from another site.")(scope, receive, send)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != self.form_type:
            return await pages.error(request, 415, "Send this form as application/x-www-form-urlencoded.")(scope, receive, send)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            return await pages.error(request, 413, "That form is too large.")(scope, receive, send)
        body = bytearray()
        try:
            with anyio.fail_after(self.body_seconds):
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > self.max_body:
                        return await pages.error(request, 413, "That form is too large.")(scope, receive, send)
        except TimeoutError:  # and hang up: else the server waits on for the rest of the body
            response = pages.error(request, 408, "That form arrived too slowly.", headers={"Connection": "close"})
            return await response(scope, receive, send)
        try:
            text = bytes(body).decode("utf-8")
            fields = FormData(parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=self.max_fields))
        except UnicodeDecodeError:
            return await pages.error(request, 400, "That form could not be read (invalid encoding).")(scope, receive, send)
        except ValueError:  # parse_qsl counts the fields before it decodes any
            return await pages.error(request, 400, "That form has too many fields.")(scope, receive, send)
        if not csrf.is_valid(request, fields):
            message = "Your session changed or expired. Reload the page and try again."
            return await pages.error(request, 403, message)(scope, receive, send)
        scope.setdefault("state", {})["form"] = fields
        await self.app(scope, _replay(bytes(body), receive), send)

    @staticmethod
    def _same_origin(request: Request) -> bool:
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site is not None:
            return fetch_site in ("same-origin", "none")
        origin = request.headers.get("origin")
        if origin is None:
            return True  # not a browser (browsers send Origin on every POST); the token still applies
        return origin == f"{request.url.scheme}://{request.url.netloc}"


def _methods_at(scope) -> tuple[bool, set[str]]:
    """Whether a route of the app serves this request's method at its path, and the methods the path's routes
    serve (Starlette's own 405 names only the first route's, and comes after this guard)."""
    allowed = set()
    for route in scope["app"].routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return True, allowed
        if match is Match.PARTIAL:
            allowed |= route.methods
    return False, allowed


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


