"""``python -m devstack.mailsink [--host H] [--smtp-port P] [--http-port P] [--data-dir D]``;
defaults from ``lkk.settings`` (``LKK_MAILSINK_SMTP_PORT``, ``LKK_MAILSINK_HTTP_PORT``,
``LKK_DATA_DIR``/mailsink). SIGTERM or SIGINT stops it cleanly."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from devstack.mailsink.sink import DEFAULT_HOST, MailSink

log = logging.getLogger("devstack.mailsink")


def _defaults() -> tuple[int, int, Path]:
    try:
        from lkk.settings import get_settings

        settings = get_settings()
        return settings.mailsink_smtp_port, settings.mailsink_http_port, settings.data_dir / "mailsink"
    except Exception as exc:  # a dev tool: odd settings must not stop it
        log.warning("settings not usable (%s), using built-in defaults", exc)
        return 1025, 8025, Path("var/mailsink")


async def _run(args: argparse.Namespace) -> None:
    sink = MailSink(args.host, args.smtp_port, args.http_port, args.data_dir)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # e.g. Windows
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await sink.start()
    try:
        await stop.wait()
    finally:
        log.info("mail sink: stopping")
        await sink.stop()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command
    smtp_port, http_port, data_dir = _defaults()
    parser = argparse.ArgumentParser(prog="python -m devstack.mailsink", description="Development SMTP sink.")
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface for both servers (default: %(default)s)")
    parser.add_argument("--smtp-port", type=int, default=smtp_port, help="SMTP port (default: %(default)s)")
    parser.add_argument("--http-port", type=int, default=http_port, help="web page and API port (default: %(default)s)")
    parser.add_argument("--data-dir", type=Path, default=data_dir, help="message store (default: %(default)s)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):  # where signal handlers are unavailable
        asyncio.run(_run(args))


if __name__ == "__main__":
    main()
