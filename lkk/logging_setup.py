"""Process-wide logging: one line per event, never a secret (no bodies, no tokens).

``LKK_LOG_FORMAT=json`` (the default) writes one JSON object per line for the log
shipper; ``text`` is for a terminal. Every line that concerns one customer's
onboarding carries ``workflow_id`` so support and ops can join logs with the run in
the Temporal UI:

* inside an activity the id is taken from ``activity.info()`` automatically;
* Temporal's workflow/activity loggers already attach ``temporal_workflow`` /
  ``temporal_activity`` dicts, which are flattened to the same field;
* the API passes it explicitly: ``log.info(..., extra=workflow_extra(workflow_id))``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter
from temporalio import activity

from lkk.settings import LogFormat, Settings

_HANDLER_NAME = "lkk"


def workflow_extra(workflow_id: str) -> dict[str, str]:
    """``extra=`` for a log call outside an activity that concerns one onboarding."""
    return {"workflow_id": workflow_id}


class WorkflowContextFilter(logging.Filter):
    """Stamps ``workflow_id`` (and run id, activity type) on records that belong to a run."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "workflow_id", None):
            return True
        for key in ("temporal_activity", "temporal_workflow"):
            context = getattr(record, key, None)
            if isinstance(context, dict) and context.get("workflow_id"):
                record.workflow_id = context["workflow_id"]
                record.run_id = context.get("workflow_run_id") or context.get("run_id")
                return True
        if activity.in_activity():
            info = activity.info()
            record.workflow_id = info.workflow_id
            record.run_id = info.workflow_run_id
            record.activity = info.activity_type
        return True


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        workflow_id = getattr(record, "workflow_id", None)
        return f"{line} [workflow_id={workflow_id}]" if workflow_id else line


def make_handler(settings: Settings, stream: Any = None) -> logging.Handler:
    """A handler with the configured format and the workflow-id filter (tests attach one too)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(WorkflowContextFilter())
    if settings.log_format is LogFormat.JSON:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                # Temporal's context dicts are flattened by the filter; keep lines short.
                reserved_attrs=[*_STANDARD_ATTRS, "temporal_workflow", "temporal_activity"],
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


def configure_logging(settings: Settings) -> None:
    """Install the one root handler (idempotent: a second call replaces it)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(make_handler(settings))
    root.setLevel(settings.log_level.upper())


# LogRecord attributes that are not "extra" fields (python-json-logger's default list,
# spelled out so the Temporal context dicts can be added to it).
_STANDARD_ATTRS = (
    "args", "asctime", "created", "exc_info", "exc_text", "filename", "funcName", "levelname", "levelno",
    "lineno", "module", "msecs", "message", "msg", "name", "pathname", "process", "processName",
    "relativeCreated", "stack_info", "thread", "threadName", "taskName",
)
