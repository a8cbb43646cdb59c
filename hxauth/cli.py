"""The `hxauth` command: migrate, new-migration, create-user, cleanup and send-test-email (the seed's `inspira migrate` and friends)."""

import argparse
import asyncio
import contextlib
import email.utils
import getpass
import sys
import time

from starlette.datastructures import State

from hxauth import accounts, housekeeping, mail
from hxauth.database import DatabaseUnavailable, open_database, wait_for_database
from hxauth.faults import is_database_fault
from hxauth.migrations import MIGRATIONS, MigrationFailed, migrate, new_migration
from hxauth.passwords import Hasher
from hxauth.queries import Queries
from hxauth.settings import ConfigError, Settings


@contextlib.asynccontextmanager
async def _database(settings: Settings):
    """The app's database with the app's settings: the same timeouts, the same wait at start."""
    db = open_database(settings.database_url, timeout=settings.database_timeout, pool_size=settings.database_pool_size)
    try:
        await wait_for_database(db, settings.database_wait_seconds)
        yield db
    finally:
        await db.disconnect()


async def _migrate(settings: Settings) -> int:
    async with _database(settings) as db:
        applied = await migrate(db)
    print("\n".join(f"applied {version}" for version in applied) or "nothing to apply: the database is up to date")
    return 0


async def _cleanup(settings: Settings) -> int:
    async with _database(settings) as db:
        removed = await housekeeping.clean_up(State({"settings": settings, "db": db, "queries": Queries()}))
    print(housekeeping.summary(removed))
    return 0


def _new_migration(name: str) -> int:
    try:
        path = new_migration(name, MIGRATIONS)
    except ValueError as error:
        print(f"hxauth: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


async def _create_user(settings: Settings, name: str, email: str, password: str) -> int:
    values, errors = accounts.check_signup(name, email, password, settings.password_min_length)
    if errors:
        for field, message in errors.items():
            print(f"hxauth: {field}: {message}", file=sys.stderr)
        return 2
    hasher = Hasher(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism, 1)
    async with _database(settings) as db:
        await migrate(db)
        try:
            state = State({"settings": settings, "db": db, "queries": Queries(), "hasher": hasher})
            user_id = await accounts.register_user(state, password=password, **values)
        except accounts.EmailTaken:
            print(f"hxauth: User already exists: {values['email']}", file=sys.stderr)
            return 1
    print(f"created user {user_id} <{values['email']}>")
    return 0


async def _send_test_email(settings: Settings, to: str) -> int:
    """One message straight to MAIL_URL (not through the outbox): a check of the server and its settings."""
    address, problem = accounts.check_email(to)
    if problem:
        print(f"hxauth: --to: {problem}", file=sys.stderr)
        return 2
    if not settings.mail_url:
        print("hxauth: MAIL_URL is not set, so nothing can be sent (in development messages stay in /dev/mailbox); "
              "set it, e.g. MAIL_URL=smtp://user:password@smtp.example.com:587", file=sys.stderr)
        return 2
    server = mail.smtp_options(settings.mail_url)
    where = f"{server['hostname']}:{server['port']}" + (" (TLS)" if server["use_tls"] else "")
    subject, text, html = mail.render("test", {"base_url": settings.base_url})
    row = {"recipient": address, "subject": subject, "text_body": text, "html_body": html, "created_at": int(time.time()),
           "message_id": email.utils.make_msgid(domain="hxauth.test")}
    try:
        await mail.send(settings, mail.message(settings, row))
    except Exception as error:
        print(f"hxauth: not sent through {where}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(f"sent a test message to {address} through {where}, from {settings.mail_from}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hxauth", description="Manage an hxauth site. Settings come from the environment and .env.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("migrate", help="apply pending migrations from sql/migrations, in order (the app also does this at start-up)")
    new = commands.add_parser("new-migration", help="create the next numbered, empty migration file in sql/migrations")
    new.add_argument("name", help="what the migration does, e.g. 'add users last_login'")
    commands.add_parser("cleanup", help="remove expired sessions and old rate-limit records now (the app also does it every CLEANUP_INTERVAL_SECONDS)")
    create = commands.add_parser("create-user", help="create an account (the password is asked for, or read from stdin)")
    create.add_argument("--name", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    test_email = commands.add_parser("send-test-email", help="send one message through MAIL_URL now and say what happened")
    test_email.add_argument("--to", required=True, metavar="ADDRESS")
    args = parser.parse_args(argv)

    if args.command == "new-migration":
        return _new_migration(args.name)
    try:
        settings = Settings.from_environ()
    except ConfigError as error:
        print(f"hxauth: {error}", file=sys.stderr)
        return 2
    try:
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == "cleanup":
            return asyncio.run(_cleanup(settings))
        if args.command == "send-test-email":
            return asyncio.run(_send_test_email(settings, args.to))
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
        return asyncio.run(_create_user(settings, args.name, args.email, password))
    except (MigrationFailed, DatabaseUnavailable) as error:
        print(f"hxauth: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        if not is_database_fault(error):
            raise
        print(f"hxauth: the database failed: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
