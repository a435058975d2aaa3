"""Concurrent bursts for testing limits: every request on its own connection, held back
by its last byte, then all released at the same instant.

A loop of sequential requests proves nothing about a race: a limit that reads a counter,
does slow work (an argon2 check), then writes the counter passes every request of a loop
and still lets a burst through. Here every request is fully on the wire except one byte,
so the server parses them all in the same few milliseconds after the release.

Build requests with ``httpx.AsyncClient.build_request`` (so the client's cookies and
default headers come along) and pass them to ``burst``; requests may target several
servers (two API replicas)::

    requests = [web.build_request("POST", "/login", data=form) for _ in range(30)]
    answers = await burst(requests)
    assert sum(a.status == 200 for a in answers) <= 1
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import h11
import httpx


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-cased names; a repeated header keeps its last value
    set_cookies: list[str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def serialize(request: httpx.Request) -> bytes:
    """The request as HTTP/1.1 bytes on a connection that closes after the answer."""
    body = request.read()
    headers = [(k, v) for k, v in request.headers.raw if k.lower() not in (b"connection", b"content-length", b"transfer-encoding")]
    headers += [(b"Connection", b"close"), (b"Content-Length", str(len(body)).encode())]
    target = request.url.raw_path
    conn = h11.Connection(h11.CLIENT)
    return (
        conn.send(h11.Request(method=request.method, target=target, headers=headers))
        + conn.send(h11.Data(data=body))
        + conn.send(h11.EndOfMessage())
    )


async def _read(reader: asyncio.StreamReader) -> RawResponse:
    conn = h11.Connection(h11.CLIENT)
    # h11 parses a response only after it has seen a request go out on the connection.
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    conn.send(h11.EndOfMessage())
    status, headers, cookies, body = 0, {}, [], bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(65536))
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
            for name, value in event.headers:
                key = name.decode("latin-1").lower()
                headers[key] = value.decode("latin-1")
                if key == "set-cookie":
                    cookies.append(value.decode("latin-1"))
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            return RawResponse(status=status, headers=headers, set_cookies=cookies, body=bytes(body))


async def burst(requests: Sequence[httpx.Request], *, timeout: float = 120.0) -> list[RawResponse]:
    """Send all requests at once (see the module doc); answers in the order given."""
    wires = [serialize(request) for request in requests]
    connections = await asyncio.gather(
        *(asyncio.open_connection(request.url.host, request.url.port or 80) for request in requests)
    )
    try:
        for (_, writer), wire in zip(connections, wires, strict=True):
            writer.write(wire[:-1])
        await asyncio.gather(*(writer.drain() for _, writer in connections))
        # Give the server time to read every partial request, so that only the last byte
        # is outstanding everywhere; then release them all in one go.
        await asyncio.sleep(0.3)
        for (_, writer), wire in zip(connections, wires, strict=True):
            writer.write(wire[-1:])
        await asyncio.gather(*(writer.drain() for _, writer in connections))
        return list(await asyncio.wait_for(asyncio.gather(*(_read(reader) for reader, _ in connections)), timeout))
    finally:
        for _, writer in connections:
            writer.close()
