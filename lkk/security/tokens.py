"""Opaque random tokens (links, sessions, captcha ids) and how they are stored.

Tokens carry 256 bits from the OS CSPRNG. A token of that entropy cannot be
brute-forced, so a plain SHA-256 is the right storage hash (a slow hash buys nothing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def derived_token(secret_key: str, *parts: str) -> str:
    """A token that the same inputs always give again (HMAC-SHA256 under the deployment's
    secret, 256 bits): a retried e-mail carries the same link as the copy that may already
    have been delivered, so no delivered copy holds a dead link."""
    mac = hmac.new(secret_key.encode("utf-8"), "\x1f".join(parts).encode("utf-8"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
