"""SIGTERM to the API (docker stop, a rolling update) while a request is in flight:
uvicorn stops accepting, answers the request in full, then exits cleanly."""

from __future__ import annotations

import signal
import socket
import threading
import time

import httpx
import pytest

from lkk.settings import Settings
from tests.conftest import free_port
from tests.stack import api_process


class SilentServer:
    """Accepts TCP connections and never answers: a database that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def hanging_database() -> SilentServer:
    server = SilentServer()
    yield server  # type: ignore[misc]
    server.close()


def test_sigterm_answers_the_in_flight_request_then_exits(settings: Settings, hanging_database: SilentServer) -> None:
    # /readyz waits up to its 2 s check timeout on the hanging database: a slow request.
    config = settings.model_copy(
        update={
            "database_url": f"postgresql+psycopg://lkk@127.0.0.1:{hanging_database.port}/lkk",
            "temporal_address": f"127.0.0.1:{free_port()}",
            "temporal_connect_wait_seconds": 0.0,
        }
    )
    port = free_port()
    answer: dict[str, object] = {}

    def slow_request() -> None:
        started = time.monotonic()
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
        answer.update(status=response.status_code, body=response.json(), seconds=time.monotonic() - started)

    with api_process(config, port, wait_until_ready=False) as api:
        request = threading.Thread(target=slow_request)
        request.start()
        time.sleep(0.7)  # the request is now waiting on the database
        api.send_signal(signal.SIGTERM)
        request.join(timeout=30)
        exit_code = api.wait(timeout=30)
        with pytest.raises(httpx.ConnectError):  # no new requests once draining began
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)

    assert answer["status"] == 503, answer
    assert answer["body"] == {"status": "unavailable", "checks": {"database": "down", "temporal": "down"}}
    assert float(answer["seconds"]) > 1.0, "the request was in flight when SIGTERM arrived"  # type: ignore[arg-type]
    # uvicorn re-raises the signal after its graceful shutdown, so "terminated by
    # SIGTERM" is its clean exit; a crash or a forced kill would show otherwise.
    assert exit_code in (0, -signal.SIGTERM)
