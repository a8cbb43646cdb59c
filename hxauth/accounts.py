"""Every user query and the password check live here; routes never write SQL."""

import dataclasses
import re
import time
import unicodedata

from hxauth.faults import is_unique_violation
from hxauth.passwords import MAX_LENGTH as PASSWORD_MAX_LENGTH, password_problem

NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254  # RFC 5321's limit on a path
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
ALLOWED_FORMAT_CHARACTERS = {"\u200d"}  # the zero-width joiner inside emoji sequences


class EmailTaken(Exception):
    """Another account already uses this email (in any letter case)."""


@dataclasses.dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str


def normalize_email(email: str) -> str:
    """Trimmed and lower-cased, so Ann@Example.com and ann@example.com are one account."""
    return unicodedata.normalize("NFC", email).strip().lower()


def _unsafe_characters(text: str) -> bool:
    """Control, format (bidi overrides, zero-width), private-use and unassigned characters."""
    return any(unicodedata.category(c).startswith("C") and c not in ALLOWED_FORMAT_CHARACTERS for c in text)


def check_name(name: str) -> tuple[str, str | None]:
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if not name:
        return name, "Enter your name."
    if len(name) > NAME_MAX_LENGTH:
        return name, f"Use at most {NAME_MAX_LENGTH} characters."
    if _unsafe_characters(name):
        return name, "Use letters, digits, spaces and punctuation only."
    return name, None


def check_email(email: str) -> tuple[str, str | None]:
    email = normalize_email(email)
    if not email:
        return email, "Enter your email address."
    if len(email) > EMAIL_MAX_LENGTH:
        return email, f"Use at most {EMAIL_MAX_LENGTH} characters."
    if not EMAIL_PATTERN.fullmatch(email) or _unsafe_characters(email):
        return email, "Enter an email address like name@example.com."
    return email, None


def check_signup(name: str, email: str, password: str, password_min_length: int) -> tuple[dict, dict]:
    """Cleaned values and an error message per invalid field."""
    values, errors = {}, {}
    values["name"], errors["name"] = check_name(name)
    values["email"], errors["email"] = check_email(email)
    errors["password"] = password_problem(password, password_min_length, name=values["name"], email=values["email"])
    return values, {field: message for field, message in errors.items() if message}


async def register_user(db, queries, hasher, *, name: str, email: str, password: str) -> int:
    """Create the account and return its id; the unique index, not a prior SELECT, catches duplicates."""
    password_hash = await hasher.hash(password)
    values = {"name": name, "email": email, "password_hash": password_hash, "created_at": int(time.time())}
    try:
        return await db.fetch_val(queries.insert_user, values)
    except Exception as error:
        if is_unique_violation(error):
            raise EmailTaken(email) from None
        raise


async def get_user_by_email_and_password(db, queries, hasher, email: str, password: str) -> User | None:
    """The user if the password matches, else None, taking about the same time either way."""
    email, problem = check_email(email)
    row = None if problem else await db.fetch_one(queries.get_user_by_email, {"email": email})
    if len(password) > PASSWORD_MAX_LENGTH:
        return None
    if row is None:
        # Verify against a dummy hash so an unknown email costs what a wrong password does.
        await hasher.verify_nobody(password)
        return None
    if not await hasher.verify(row["password_hash"], password):
        return None
    if hasher.needs_rehash(row["password_hash"]):
        new_hash = await hasher.hash(password)
        await db.execute(queries.update_user_password_hash, {"id": row["id"], "password_hash": new_hash})
    return User(id=row["id"], name=row["name"], email=row["email"])
