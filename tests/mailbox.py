"""Test helper over a Mailpit-shaped API: the dev sink (devstack.mailsink) or Mailpit.

Synchronous by design (simple to use anywhere); the ``*_async`` methods run the
same calls in a worker thread so an async test never blocks its event loop while
polling (the app under test may share that loop).

Import it as ``from tests.mailbox import Mailbox, links``: the bare name ``mailbox``
is a standard-library module.
"""

from __future__ import annotations

import asyncio
import re
import time
from html.parser import HTMLParser
from typing import Any

import httpx

Message = dict[str, Any]


class Mailbox:
    def __init__(self, base_url: str, *, http_timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(base_url=self.base_url, timeout=http_timeout)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Mailbox":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- plain calls

    def listing(self, limit: int = 50, start: int = 0) -> dict[str, Any]:
        """The whole ``/api/v1/messages`` answer (totals and summaries)."""
        return self._get("/api/v1/messages", params={"limit": limit, "start": start})

    def messages(self, limit: int = 50, start: int = 0) -> list[Message]:
        """Message summaries, newest first."""
        return list(self.listing(limit, start)["messages"])

    def search(self, query: str, limit: int = 50) -> list[Message]:
        """Summaries matching a Mailpit query such as ``to:user@example.ru``."""
        return list(self._get("/api/v1/search", params={"query": query, "limit": limit})["messages"])

    def message(self, id_: str) -> Message:
        """The full message: headers, ``Text``, ``HTML``, attachments."""
        return self._get(f"/api/v1/message/{id_}")

    def raw(self, id_: str) -> str:
        response = self.client.get(f"/api/v1/message/{id_}/raw")
        response.raise_for_status()
        return response.text

    def delete_all(self) -> None:
        self.client.delete("/api/v1/messages").raise_for_status()

    def delete(self, *ids: str) -> None:
        if ids:  # an empty list would mean "everything" to the server
            self.client.request("DELETE", "/api/v1/messages", json={"IDs": list(ids)}).raise_for_status()

    def set_smtp_mode(self, mode: str) -> None:
        """``accept`` | ``tempfail`` | ``reject``; only the dev sink has this switch."""
        response = self.client.post("/api/v1/dev/smtp-mode", json={"mode": mode})
        if response.status_code == 404:
            raise RuntimeError(f"{self.base_url} has no SMTP fault switch (is it Mailpit, not the dev sink?)")
        response.raise_for_status()

    # ---------------------------------------------------------------- polling

    def wait_for_all(
        self, to: str | None = None, subject_contains: str | None = None, timeout: float = 10.0, count: int = 1,
        interval: float = 0.2,
    ) -> list[Message]:
        """Poll until at least ``count`` messages match; return them all in full, oldest first."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._matching(to, subject_contains)
            if len(found) >= count:
                return [self.message(m["ID"]) for m in reversed(found)]
            if time.monotonic() >= deadline:
                seen = [(m["Subject"], [a["Address"] for a in m["To"]]) for m in self.messages(limit=20)]
                raise TimeoutError(
                    f"{len(found)} of {count} message(s) to={to!r} subject~{subject_contains!r} "
                    f"after {timeout}s; mailbox has (subject, to): {seen}"
                )
            time.sleep(interval)

    def wait_for(
        self, to: str | None = None, subject_contains: str | None = None, timeout: float = 10.0, count: int = 1,
        interval: float = 0.2,
    ) -> Message:
        """Poll until at least ``count`` messages match; return the newest one in full."""
        return self.wait_for_all(to, subject_contains, timeout, count, interval)[-1]

    def _matching(self, to: str | None, subject_contains: str | None) -> list[Message]:
        found = self.search(f"to:{to}", limit=1000) if to else self.messages(limit=1000)
        if to:  # the server matches substrings; a test means this exact address
            wanted = to.casefold()
            found = [
                m for m in found
                if any(a["Address"].casefold() == wanted for a in m["To"] + m.get("Cc", []) + m.get("Bcc", []))
            ]
        if subject_contains:
            found = [m for m in found if subject_contains.casefold() in m["Subject"].casefold()]
        return found

    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.get(path, params=params)
        response.raise_for_status()
        return response.json()

    # ---------------------------------------------------------------- async wrappers

    async def messages_async(self, limit: int = 50, start: int = 0) -> list[Message]:
        return await asyncio.to_thread(self.messages, limit, start)

    async def message_async(self, id_: str) -> Message:
        return await asyncio.to_thread(self.message, id_)

    async def wait_for_async(
        self, to: str | None = None, subject_contains: str | None = None, timeout: float = 10.0, count: int = 1,
    ) -> Message:
        return await asyncio.to_thread(self.wait_for, to, subject_contains, timeout, count)

    async def wait_for_all_async(
        self, to: str | None = None, subject_contains: str | None = None, timeout: float = 10.0, count: int = 1,
    ) -> list[Message]:
        return await asyncio.to_thread(self.wait_for_all, to, subject_contains, timeout, count)

    async def delete_all_async(self) -> None:
        await asyncio.to_thread(self.delete_all)

    async def set_smtp_mode_async(self, mode: str) -> None:
        await asyncio.to_thread(self.set_smtp_mode, mode)


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"')\]]+")


def links(message: Message) -> list[str]:
    """Links of a full message: ``<a href>`` of the HTML body, then URLs in the text body; no duplicates."""
    parser = _LinkParser()
    parser.feed(message.get("HTML") or "")
    parser.close()
    found = [href.strip() for href in parser.hrefs]
    found += [url.rstrip(".,;:!?") for url in _URL_IN_TEXT.findall(message.get("Text") or "")]
    return list(dict.fromkeys(found))
