"""Opaque random tokens (links, sessions, captcha ids) and how they are stored.

Tokens carry 256 bits from the OS CSPRNG. A token of that entropy cannot be
brute-forced, so a plain SHA-256 is the right storage hash (a slow hash buys nothing).
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
