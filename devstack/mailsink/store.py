"""Messages on disk: ``<counter>-<id>.eml`` exactly as received, plus ``index.jsonl`` for what the
raw message lacks (receive time, envelope). On start the ``.eml`` files are the truth: a missing
index line falls back to the file's mtime, a stale one is dropped."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import string
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devstack.mailsink import parse

log = logging.getLogger("devstack.mailsink")

_EML = re.compile(r"(\d+)-([A-Za-z0-9]+)\.eml")
INDEX = "index.jsonl"


def rfc3339(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Letter:
    id: str
    path: Path
    received: datetime
    mail_from: str
    rcpt_to: list[str]
    head: dict[str, Any]  # parse.headline(): what lists and searches need, kept in memory

    def summary(self) -> dict[str, Any]:
        """An item of Mailpit's ``/api/v1/messages``; the sink does not track reading."""
        return {"ID": self.id, "Read": True, "Created": rfc3339(self.received), "Tags": [], **self.head}

    def detail(self, raw: bytes) -> dict[str, Any]:
        """Mailpit's ``/api/v1/message/{ID}``."""
        msg = parse.parse(raw)
        head = {k: v for k, v in self.head.items() if k not in ("Attachments", "Snippet")}
        return {
            "ID": self.id, **head,
            "ReturnPath": parse.header(msg, "Return-Path").strip("<>") or self.mail_from,
            "Date": rfc3339(parse.date(msg) or self.received),
            "Tags": [],
            **parse.body(msg),
        }

    def envelope(self) -> str:
        return json.dumps({"id": self.id, "file": self.path.name, "received": self.received.isoformat(),
                           "mail_from": self.mail_from, "rcpt_to": self.rcpt_to}, ensure_ascii=False)


class Store:
    """Thread-safe: SMTP sessions and HTTP handlers run on different threads."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._letters: dict[str, Letter] = {}  # in receiving order
        self._seq = 0
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in directory.glob("*.tmp"):  # a write interrupted by a crash
            leftover.unlink()
        envelopes: dict[str, dict[str, Any]] = {}
        if (directory / INDEX).exists():
            for line in (directory / INDEX).read_text("utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                    envelopes[entry["id"]] = entry
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line must not lose the other messages
        for path in sorted(directory.glob("*.eml")):
            if not (name := _EML.fullmatch(path.name)):
                log.warning("ignoring unexpected file %s", path.name)
                continue
            seq, id_, env = int(name[1]), name[2], envelopes.get(name[2], {})
            try:
                received = datetime.fromisoformat(env["received"])
            except (KeyError, TypeError, ValueError):
                received = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            self._keep(seq, id_, path, path.read_bytes(), received, str(env.get("mail_from") or ""),
                       [str(r) for r in env.get("rcpt_to") or []])
        self._rewrite_index()

    def _keep(self, seq: int, id_: str, path: Path, raw: bytes, received: datetime, mail_from: str,
              rcpt_to: list[str]) -> Letter:
        letter = Letter(id_, path, received, mail_from, rcpt_to, parse.headline(raw, rcpt_to))
        self._letters[id_] = letter
        self._seq = max(self._seq, seq)
        return letter

    def _rewrite_index(self) -> None:
        tmp = self.directory / f"{INDEX}.tmp"
        tmp.write_text("".join(m.envelope() + "\n" for m in self._letters.values()), "utf-8")
        os.replace(tmp, self.directory / INDEX)  # atomic: never half an index

    def add(self, raw: bytes, mail_from: str, rcpt_to: list[str]) -> Letter:
        id_ = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(22))  # as Mailpit's
        with self._lock:
            path = self.directory / f"{self._seq + 1:08d}-{id_}.eml"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(raw)
            os.replace(tmp, path)
            letter = self._keep(self._seq + 1, id_, path, raw, datetime.now(UTC), mail_from, rcpt_to)
            with (self.directory / INDEX).open("a", encoding="utf-8") as index:
                index.write(letter.envelope() + "\n")
        return letter

    def all(self) -> list[Letter]:
        """Newest first."""
        with self._lock:
            return list(reversed(self._letters.values()))

    def get(self, id_: str) -> tuple[Letter, bytes] | None:
        """The letter and its raw bytes; ``latest`` (as in Mailpit) is the newest one."""
        with self._lock:
            letter = next(reversed(self._letters.values()), None) if id_ == "latest" else self._letters.get(id_)
        try:
            return (letter, letter.path.read_bytes()) if letter else None
        except FileNotFoundError:  # deleted meanwhile
            return None

    def delete(self, ids: list[str] | None = None) -> None:
        """The given messages, or all of them when ``ids`` is None."""
        with self._lock:
            for id_ in list(self._letters) if ids is None else ids:
                if letter := self._letters.pop(id_, None):
                    letter.path.unlink(missing_ok=True)
            self._rewrite_index()


def matches(letter: Letter, query: str) -> bool:
    """The part of Mailpit's search that is used: ``to:ADDR``, ``from:ADDR``, ``subject:WORD`` and
    plain words (matched against the subject); every term must match, case-insensitive substrings."""
    head = letter.head
    fields = {
        "to": " ".join(f"{a['Name']} {a['Address']}" for a in head["To"] + head["Cc"] + head["Bcc"]),
        "from": f"{head['From']['Name']} {head['From']['Address']}",
        "subject": head["Subject"],
    }
    for term in query.split():
        name, _, value = term.partition(":")
        if not (value and name.lower() in fields):
            name, value = "subject", term
        if value.casefold() not in fields[name.lower()].casefold():
            return False
    return True
