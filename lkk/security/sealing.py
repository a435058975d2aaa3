"""Sealing a short-lived secret that another process must read back (a binding code in
flight from the API to the worker's verification activity).

The code must not travel through workflow history, so the API parks it in the
database for a minute. Sealed with a key derived from ``LKK_SECRET_KEY`` (which the API
and the worker share), a database dump alone does not reveal the codes in flight.
Fernet is authenticated encryption (AES-128-CBC + HMAC-SHA256) from ``cryptography``.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _fernet(secret_key: str, purpose: str) -> Fernet:
    # One derived key per purpose: a value sealed for one job cannot be opened as another.
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=f"lkk-seal:{purpose}".encode()).derive(
        secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, purpose: str, plaintext: str) -> str:
    return _fernet(secret_key, purpose).encrypt(plaintext.encode("utf-8")).decode("ascii")


def unseal(secret_key: str, purpose: str, sealed: str) -> str | None:
    """The plaintext, or None when the value was tampered with or sealed under another key."""
    try:
        return _fernet(secret_key, purpose).decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None
