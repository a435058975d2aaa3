"""The one-time password mailed by password recovery."""

from __future__ import annotations

import secrets

# Lower-case letters and digits without look-alikes (0/o, 1/l/i): typed from an e-mail.
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def new_one_time_password(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))
