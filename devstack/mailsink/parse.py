"""A raw message as the fields of Mailpit's JSON, read with the standard ``email`` package."""

from __future__ import annotations

import re
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from html import unescape
from typing import Any

SNIPPET_LENGTH = 250  # what Mailpit shows

Address = dict[str, str]


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a broken header must not break the sink
        return ""
    return "" if value is None else str(value).strip()


def addresses(msg: Message, name: str) -> list[Address]:
    try:
        return [{"Name": a.display_name, "Address": a.addr_spec}
                for value in msg.get_all(name, []) for a in getattr(value, "addresses", ())]
    except Exception:
        return []


def date(msg: Message) -> datetime | None:
    try:
        return getattr(msg.get("Date"), "datetime", None)
    except Exception:
        return None


def _text(part: Message | None) -> str:
    if part is None:
        return ""
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except Exception:  # unknown charset or broken encoding: best effort
        content = part.get_payload(decode=True) or b""
    text = content if isinstance(content, str) else bytes(content).decode("utf-8", "replace")
    return text.replace("\r\n", "\n")  # SMTP line endings are noise for readers and tests


def body(msg: EmailMessage) -> dict[str, Any]:
    """``Text``, ``HTML``, ``Inline`` and ``Attachments`` of Mailpit's message JSON."""
    text_part, html_part = msg.get_body(("plain",)), msg.get_body(("html",))
    out: dict[str, Any] = {"Text": _text(text_part), "HTML": _text(html_part), "Inline": [], "Attachments": []}
    for part in msg.walk():
        if part.is_multipart() or part is text_part or part is html_part:
            continue
        payload = part.get_payload(decode=True)
        info = {
            "FileName": part.get_filename() or "",
            "ContentType": part.get_content_type(),
            "ContentID": header(part, "Content-ID").strip("<>"),
            "Size": len(payload) if isinstance(payload, bytes) else 0,
        }
        inline = info["ContentID"] and part.get_content_disposition() != "attachment"
        out["Inline" if inline else "Attachments"].append(info)
    return out


def snippet(content: dict[str, Any]) -> str:
    text = content["Text"]
    if not text and content["HTML"]:
        text = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", content["HTML"])
        text = unescape(re.sub(r"<[^>]+>", " ", text))
    return " ".join(text.split())[:SNIPPET_LENGTH]


def headline(raw: bytes, rcpt_to: list[str]) -> dict[str, Any]:
    """What the message list shows (Mailpit's summary fields that come from the message)."""
    msg = parse(raw)
    content = body(msg)
    to, cc, bcc = addresses(msg, "To"), addresses(msg, "Cc"), addresses(msg, "Bcc")
    shown = {a["Address"].lower() for a in to + cc + bcc}
    bcc += [{"Name": "", "Address": r} for r in rcpt_to if r.lower() not in shown]  # blind copies
    senders = addresses(msg, "From")
    return {
        "MessageID": header(msg, "Message-ID").strip("<>"),
        "From": senders[0] if senders else {"Name": "", "Address": ""},
        "To": to,
        "Cc": cc,
        "Bcc": bcc,
        "ReplyTo": addresses(msg, "Reply-To"),
        "Subject": header(msg, "Subject"),
        "Size": len(raw),
        "Attachments": len(content["Attachments"]),
        "Snippet": snippet(content),
    }
