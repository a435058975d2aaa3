"""Message-IDs that stay the same for one logical e-mail.

A send retried after a crash (the SMTP server took the message, the worker died
before recording it) carries the id of the first try, so the receiving side can
drop the duplicate. The id hashes its key, so neither the workflow id nor the
account id is readable in a header.
"""

from __future__ import annotations

import hashlib


def message_id(key: str, mail_from_address: str) -> str:
    """``<hash@domain of the sender>`` for the logical e-mail named by ``key``."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    domain = mail_from_address.rpartition("@")[2].strip() or "localhost"
    return f"<{digest}@{domain}>"


def mail_key(workflow_id: str, kind: str, seq: int | str) -> str:
    """The key of send number ``seq`` of e-mail ``kind`` in the workflow ``workflow_id``."""
    return f"{workflow_id}/{kind}/{seq}"
