"""SIGTERM to the API (docker stop, a rolling update): it drains first (/readyz 503 while
it still serves, so the balancer takes it out), then stops accepting, answers what is in
flight in full and exits cleanly. A second signal skips the rest of the drain."""

from __future__ import annotations

import signal
import socket
import threading
import time

import httpx
import pytest

from lkk.settings import Settings
from tests.conftest import free_port
from api.serve import GRACEFUL_SHUTDOWN_SECONDS
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
        with pytest.raises(httpx.ConnectError):  # no new requests once it stopped
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)

    assert answer["status"] == 503, answer
    assert answer["body"] == {"status": "unavailable", "checks": {"database": "down", "temporal": "down"}}
    assert float(answer["seconds"]) > 1.0, "the request was in flight when SIGTERM arrived"  # type: ignore[arg-type]
    # uvicorn re-raises the signal after its graceful shutdown, so "terminated by
    # SIGTERM" is its clean exit; a crash or a forced kill would show otherwise.
    assert exit_code in (0, -signal.SIGTERM)


def _get(url: str) -> tuple[int, str]:
    answer = httpx.get(url, timeout=5)
    return answer.status_code, answer.json()["status"] if "json" in answer.headers["content-type"] else ""


def test_sigterm_first_reports_not_ready_while_still_serving_then_exits(settings: Settings) -> None:
    drain = 3.0
    config = settings.model_copy(update={"shutdown_drain_seconds": drain, "temporal_address": f"127.0.0.1:{free_port()}"})
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with api_process(config, port, wait_until_ready=False) as api:
        assert _get(f"{url}/readyz")[0] == 200, "ready before the signal (database up; Temporal is not needed)"
        api.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        answers: list[tuple[float, tuple[int, str], int]] = []
        while api.poll() is None and time.monotonic() - signalled < drain + GRACEFUL_SHUTDOWN_SECONDS + 5:
            try:  # a new connection each time: the listening socket must still accept
                answers.append((time.monotonic() - signalled, _get(f"{url}/readyz"), _get(f"{url}/login")[0]))
            except httpx.TransportError:
                # Once the drain ends uvicorn closes its listening socket: a connect can be
                # refused, or reset if it raced into the backlog just before the close.
                break
            time.sleep(0.1)
        exit_code = api.wait(timeout=drain + GRACEFUL_SHUTDOWN_SECONDS)
        exited = time.monotonic() - signalled

    during = [(readyz, page) for at, readyz, page in answers if at < drain - 0.5]
    assert len(during) >= 5, answers
    assert set(during) == {((503, "draining"), 200)}, "not ready at once, yet every page still served"
    assert drain - 0.5 <= exited < drain + GRACEFUL_SHUTDOWN_SECONDS, exited
    assert exit_code in (0, -signal.SIGTERM)


def test_a_second_signal_stops_at_once_without_the_drain(settings: Settings) -> None:
    drain = 30.0
    config = settings.model_copy(update={"shutdown_drain_seconds": drain, "temporal_address": f"127.0.0.1:{free_port()}"})
    port = free_port()
    with api_process(config, port, wait_until_ready=False) as api:
        api.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert _get(f"http://127.0.0.1:{port}/readyz") == (503, "draining")
        started = time.monotonic()
        api.send_signal(signal.SIGINT)  # Ctrl-C
        exit_code = api.wait(timeout=drain)
    assert time.monotonic() - started < 10, "stopped without waiting out the drain"
    assert exit_code in (0, -signal.SIGTERM), "a clean exit, not a crash"
