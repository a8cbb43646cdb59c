"""Random tokens for cookies and links: the holder gets the token, the database keeps only its SHA-256.

A copy of the database can then be replayed neither as session cookies nor as
reset links, and deleting the row ends the token wherever it was copied to.
"""

import hashlib
import re
import secrets

# secrets.token_urlsafe(32): 32 random bytes, 43 characters of the URL-safe base64 alphabet.
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_a_token(text: str) -> bool:
    """What new_token makes; anything else in a URL is no token of ours, answered without a query."""
    return TOKEN.fullmatch(text) is not None
