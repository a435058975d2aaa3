"""The burst helper really holds every request back until the release: a bare server
records when each request's last byte arrives."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.burst import burst

pytestmark = pytest.mark.asyncio


async def test_every_request_is_completed_only_at_the_release() -> None:
    arrivals: list[float] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
        body = await reader.readexactly(length)  # returns only once the last byte is in
        arrivals.append(time.monotonic())
        payload = b"got " + body
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(payload), payload))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
            requests = [web.build_request("POST", "/x", content=f"n={i}".encode()) for i in range(30)]
            started = time.monotonic()
            answers = await burst(requests)
    finally:
        server.close()
        await server.wait_closed()

    assert [a.text for a in answers] == [f"got n={i}" for i in range(30)]
    assert len(arrivals) == 30
    assert min(arrivals) - started >= 0.25, "no request was complete before the release"
    assert max(arrivals) - min(arrivals) < 0.2, "all requests completed together"
