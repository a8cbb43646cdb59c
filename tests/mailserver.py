"""A real SMTP server for the tests: aiosmtpd on a free loopback port, keeping every message it accepts.

The `smtp_server` fixture (tests/conftest.py) starts one per test; an app made with
`make_app(mail_url=smtp_server.url)` delivers to it. `stop()` and `start()` take it
down and bring it back on the same port, for the outage tests.
"""

import asyncio
import email
import gc
import email.policy
import re
import threading
import time
import warnings
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from helpers import free_port


class _Keep:
    def __init__(self, server: "SMTPServer"):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(message)
        return "250 OK"


class _Authenticator:
    def __init__(self, user: str, password: str):
        self.expected = (user.encode(), password.encode())

    def __call__(self, server, session, envelope, mechanism, auth_data):
        return AuthResult(success=(auth_data.login, auth_data.password) == self.expected)


class SMTPServer:
    """`tls`: None (plain SMTP), "starttls" (offered and required) or "implicit" (smtps://), with a certificate
    from `ssl_context`; `login`: (user, password) the server requires (over TLS only)."""

    def __init__(self, *, tls: str | None = None, ssl_context=None, login: tuple[str, str] | None = None):
        self.port = free_port()
        self.url = f"{'smtps' if tls == 'implicit' else 'smtp'}://127.0.0.1:{self.port}"
        self._options = {}
        if tls == "starttls":
            self._options = {"tls_context": ssl_context, "require_starttls": True}
        elif tls == "implicit":
            self._options = {"ssl_context": ssl_context}
        if login:
            self._options |= {"authenticator": _Authenticator(*login), "auth_required": True}
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self._returned: set[int] = set()  # positions in `messages` that next_message has handed out
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Keep(self), hostname="127.0.0.1", port=self.port, **self._options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            # aiosmtpd's stop() closes its event loop without closing the connections still open on it (a client
            # that gave up mid-handshake, one the test cut off): collect them now, without their ResourceWarning,
            # rather than let the garbage collector raise it later inside some other test (warnings are errors).
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()

    def received(self, to: str | None = None) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if to is None or m["To"] == to]

    async def next_message(self, to: str | None = None, subject: str | None = None, timeout: float = 10) -> EmailMessage:
        """The first message (to `to`, with `subject`) not yet returned by this call; waits for it up to `timeout`
        seconds. Messages that do not match stay for a later call (e.g. the confirmation every signup sends)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                for position, message in enumerate(self.messages):
                    wanted = (to is None or message["To"] == to) and (subject is None or message["Subject"] == subject)
                    if position not in self._returned and wanted:
                        self._returned.add(position)
                        return message
            if time.monotonic() > deadline:
                about = f" {subject!r}" if subject else ""
                raise AssertionError(f"no message{about}{' to ' + to if to else ''} arrived within {timeout} s")
            await asyncio.sleep(0.02)


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def link_in(message: EmailMessage, base_url: str = "http://localhost:8000") -> str:
    """The first link to `base_url` in the message's text part."""
    found = re.search(re.escape(base_url) + r"/[^\s<>\"]*", text_of(message))
    assert found, f"no {base_url} link in:\n{text_of(message)}"
    return found.group(0)
