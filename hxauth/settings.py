"""Configuration from environment variables (and an optional `.env` file)."""

import dataclasses
import functools
import hashlib
import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from starlette.config import Config

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
# WebAuthn refuses IP-address origins, and `make run` serves on port 8000.
DEVELOPMENT_BASE_URL = "http://localhost:8000"


class ConfigError(Exception):
    """A setting is missing or wrong; start-up stops with this message."""


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{VAR / 'hxauth.db'}"
    secret_key: str = dataclasses.field(default="", repr=False)
    env: str = "development"
    debug: bool = False
    # PostgreSQL pool size; connect and query timeout (seconds); start-up waits this many seconds for the database.
    database_pool_size: int = 10
    database_timeout: float = 5.0
    database_wait_seconds: int = 30
    # NIST SP 800-63B-4: 15 for a password used alone; never below 8.
    password_min_length: int = 15
    session_idle_seconds: int = 7 * 24 * 3600
    session_max_seconds: int = 30 * 24 * 3600
    # argon2-cffi's defaults (RFC 9106 "low memory" profile).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    # How many hashes may run at once; each holds argon2_memory_kib.
    hash_concurrency: int = os.cpu_count() or 1
    # Comma-separated addresses or networks of the reverse proxies whose X-Forwarded-For/-Proto are believed;
    # empty: the client is the socket peer, whatever it sends. (Every shipped command runs uvicorn with
    # --no-proxy-headers: its own default trusts 127.0.0.1, so anyone behind a same-host proxy chose their address.)
    trusted_proxies: str = ""
    # A form's body must arrive within this many seconds (else 408): a slow sender holds a connection meanwhile.
    form_body_seconds: float = 10
    # Logins, signups and resets hashing (queued or running) at once: per client (more: 429), in all (more: 503).
    hash_per_client: int = 2
    hash_queue_limit: int = 64
    # Failed logins per (account, client) and per client; signups per client.
    login_account_limit: int = 5
    login_account_window: int = 15 * 60
    login_client_limit: int = 100
    login_client_window: int = 3600
    # Failed logins per account from all clients together (NIST SP 800-63B: at most 100), so a guesser spread over
    # many addresses still gets few tries; a browser holding a device cookie for the account (hxauth.devices,
    # given at each login, valid DEVICE_COOKIE_MAX_AGE seconds) is held to its own limit instead, so the owner
    # is not locked out by that guesser.
    login_account_wide_limit: int = 20
    login_account_wide_window: int = 3600
    login_device_limit: int = 10
    login_device_window: int = 3600
    device_cookie_max_age: int = 365 * 24 * 3600
    signup_limit: int = 10
    signup_window: int = 3600
    # Links sent by mail (hxauth.account_links): how long each works, whether login waits for a confirmed address,
    # and how many reset requests (per email, per client) and confirmation resends (per user, per client) are allowed.
    reset_password_seconds: int = 1800
    confirm_email_seconds: int = 7 * 24 * 3600
    require_confirmed_email: bool = False
    reset_email_limit: int = 5
    reset_email_window: int = 3600
    reset_client_limit: int = 20
    reset_client_window: int = 3600
    confirm_resend_limit: int = 5
    confirm_resend_window: int = 3600
    confirm_client_limit: int = 20
    confirm_client_window: int = 3600
    # Changes of email asked for in Settings (each mails both addresses), per user and per client.
    email_change_limit: int = 5
    email_change_window: int = 3600
    email_change_client_limit: int = 20
    email_change_client_window: int = 3600
    # Two-factor authentication (hxauth.two_factor): a half-done login (password right, code still to come) lasts
    # this long; wrong codes allowed per account (from any client: the code is the second factor, so whoever
    # tries it knows the password) and per client; the issuer name authenticator apps show beside the account.
    two_factor_login_seconds: int = 300
    two_factor_account_limit: int = 5
    two_factor_account_window: int = 15 * 60
    two_factor_client_limit: int = 20
    two_factor_client_window: int = 3600
    two_factor_issuer: str = "hxauth"
    # Earlier SECRET_KEYs, comma-separated, newest first: TOTP secrets encrypted under one of them still decrypt,
    # and are encrypted again under SECRET_KEY when next used. Cookies and CSRF tokens use SECRET_KEY alone.
    secret_key_fallbacks: str = dataclasses.field(default="", repr=False)
    # Passkeys (hxauth.passkeys): how long a WebAuthn challenge works; failed passkey logins per client; challenges
    # (ceremonies started: the login page starts one for the browser's autofill) per client.
    webauthn_challenge_seconds: int = 300
    passkey_failure_limit: int = 20
    passkey_failure_window: int = 900
    passkey_challenge_limit: int = 100
    passkey_challenge_window: int = 600
    # The app deletes expired sessions and old rate-limit records this often (0: never; cron `hxauth cleanup`).
    cleanup_interval_seconds: float = 3600
    # Mail: smtp://[user:password@]host:port (STARTTLS when offered) or smtps:// (TLS from the start).
    # Unset in development: messages stay in the outbox, shown at /dev/mailbox. Required in production.
    mail_url: str = dataclasses.field(default="", repr=False)  # may hold a password
    mail_from: str = "hxauth <no-reply@localhost>"
    # The origin of every link in a message; never the request's Host header. Required in production.
    base_url: str = ""
    # The sender looks for due messages this often, and keeps retrying one for this long.
    mail_poll_seconds: float = 1.0
    mail_retry_seconds: int = 2 * 24 * 3600

    def __post_init__(self):
        if self.env not in ("development", "production"):
            raise ConfigError(f"ENV must be 'development' or 'production', not {self.env!r}")
        if self.password_min_length < 8:
            raise ConfigError("PASSWORD_MIN_LENGTH must be at least 8 (NIST SP 800-63B)")
        if self.password_min_length > 64:
            raise ConfigError("PASSWORD_MIN_LENGTH must be at most 64")
        if self.session_idle_seconds <= 0 or self.session_max_seconds <= 0:
            raise ConfigError("session lifetimes must be positive")
        if self.reset_password_seconds <= 0 or self.confirm_email_seconds <= 0:
            raise ConfigError("RESET_PASSWORD_SECONDS and CONFIRM_EMAIL_SECONDS must be positive")
        if self.two_factor_login_seconds <= 0:
            raise ConfigError("TWO_FACTOR_LOGIN_SECONDS must be positive")
        if not 1 <= len(self.two_factor_issuer) <= 64 or ":" in self.two_factor_issuer:
            raise ConfigError("TWO_FACTOR_ISSUER must be 1 to 64 characters, without a colon")
        if self.webauthn_challenge_seconds <= 0:
            raise ConfigError("WEBAUTHN_CHALLENGE_SECONDS must be positive")
        if self.form_body_seconds <= 0:
            raise ConfigError("FORM_BODY_SECONDS must be positive")
        if self.cleanup_interval_seconds < 0:
            raise ConfigError("CLEANUP_INTERVAL_SECONDS must be 0 (off) or positive")
        if min(self.hash_concurrency, self.hash_per_client, self.hash_queue_limit) < 1:
            raise ConfigError("HASH_CONCURRENCY, HASH_PER_CLIENT and HASH_QUEUE_LIMIT must be at least 1")
        if not 1 <= self.login_account_wide_limit <= 100:
            raise ConfigError("LOGIN_ACCOUNT_WIDE_LIMIT must be between 1 and 100 (NIST SP 800-63B: at most 100 failures per account)")
        if min(self.login_account_wide_window, self.login_device_limit, self.login_device_window, self.device_cookie_max_age) < 1:
            raise ConfigError("LOGIN_ACCOUNT_WIDE_WINDOW, LOGIN_DEVICE_LIMIT, LOGIN_DEVICE_WINDOW and DEVICE_COOKIE_MAX_AGE must be positive")
        self._check_proxies()
        self._check_mail()

    def _check_proxies(self):
        for entry in filter(None, (entry.strip() for entry in self.trusted_proxies.split(","))):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(f"TRUSTED_PROXIES: {entry!r} is not an IP address or network (like 10.0.0.5 or 10.0.0.0/24)") from None

    def _check_mail(self):
        production = self.env == "production"
        if production and not self.mail_url:
            raise ConfigError("MAIL_URL is required when ENV=production (e.g. smtp://user:password@smtp.example.com:587)")
        if production and not self.base_url:
            raise ConfigError("BASE_URL is required when ENV=production: the https:// origin that links in messages point to")
        if not self.base_url:
            object.__setattr__(self, "base_url", DEVELOPMENT_BASE_URL)  # a frozen dataclass's own default, filled in
        base = urlsplit(self.base_url)
        if base.scheme not in ("http", "https") or not base.hostname or base.path not in ("", "/") or base.query:
            raise ConfigError(f"BASE_URL must be an origin like https://example.com, not {self.base_url!r}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if self.mail_url:
            mail = urlsplit(self.mail_url)
            if mail.scheme not in ("smtp", "smtps") or not mail.hostname:
                raise ConfigError("MAIL_URL must look like smtp://[user:password@]host:port or smtps://...")
            try:
                mail.port
            except ValueError:
                raise ConfigError("MAIL_URL has a port that is not a number") from None
        if self.mail_poll_seconds <= 0 or self.mail_retry_seconds <= 0:
            raise ConfigError("MAIL_POLL_SECONDS and MAIL_RETRY_SECONDS must be positive")

    @classmethod
    def from_environ(cls, env_file: str | Path = ROOT / ".env") -> "Settings":
        """Read every setting from the environment, falling back to `.env`."""
        config = Config(env_file if Path(env_file).exists() else None)
        values = {}
        for field in dataclasses.fields(cls):
            name = field.name.upper()
            if name == "SECRET_KEY":
                continue
            try:
                values[field.name] = config(name, cast=field.type, default=field.default)
            except ValueError as error:
                raise ConfigError(f"{name}: {error}") from None
        values["secret_key"] = config("SECRET_KEY", default="") or _development_secret(values.get("env", "development"))
        return cls(**values)


@functools.cache
def derived_key(purpose: str, secret_key: str) -> bytes:
    """A key of the secret key's for one purpose only (CSRF tokens, session cookies), derived once.

    64 bytes, the most BLAKE2b takes: SHA-512 of the secret, however long the secret.
    """
    return hashlib.sha512(f"hxauth {purpose}:{secret_key}".encode()).digest()


def _development_secret(env: str) -> str:
    """Generate one secret for this checkout and keep it under var/, so sessions survive restarts."""
    if env == "production":
        raise ConfigError("SECRET_KEY is required when ENV=production (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    path = VAR / "secret_key"
    if not path.exists():
        VAR.mkdir(exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
