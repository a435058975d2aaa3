"""Ops on workflow histories: export a run, replay files / a run / a visibility query
against the *current* workflow code (what the worker registers), with the worker's
data converter.

A replay failure means the code on disk would not reproduce what the run already
did: a nondeterminism error (the code changed without ``workflow.patched``) or an
exception in the workflow code itself (the bug that made the run fail). See
docs/ops.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from temporalio import workflow
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer


@dataclass(frozen=True)
class ReplayReport:
    source: str  # a file path or "workflow id / run id"
    ok: bool
    nondeterminism: bool = False
    error: str | None = None

    def line(self) -> str:
        if self.ok:
            return f"{'ok':<15} {self.source}"
        kind = "NONDETERMINISM" if self.nondeterminism else "FAILED"
        return f"{kind:<15} {self.source}: {self.error}"


def registered_workflows() -> list[type]:
    """Every workflow class the worker registers (imported lazily: worker.py pulls in every activity)."""
    from worker import WORKFLOWS

    return list(WORKFLOWS)


def make_replayer(workflows: Sequence[type] | None = None) -> Replayer:
    return Replayer(
        workflows=list(workflows) if workflows is not None else registered_workflows(),
        data_converter=pydantic_data_converter,
    )


def load_history(path: Path) -> WorkflowHistory:
    """A history exported by ``lkk ops export`` or ``temporal workflow show --output json``.

    The export holds only events; the file name (without .json) stands in for the id.
    """
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


async def export_history(client: Client, workflow_id: str, run_id: str | None, out: Path) -> WorkflowHistory:
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(history.to_json(), encoding="utf-8")
    return history


async def replay(
    histories: AsyncIterator[WorkflowHistory], *, workflows: Sequence[type] | None = None, label: dict[str, str] | None = None
) -> list[ReplayReport]:
    """Replay each history and report it; one failure does not stop the others."""
    reports: list[ReplayReport] = []
    async with make_replayer(workflows).workflow_replay_iterator(histories) as results:
        async for result in results:
            source = (label or {}).get(result.history.workflow_id, result.history.workflow_id)
            run_id = _run_id(result.history)
            if run_id and source == result.history.workflow_id:
                source = f"{source} / {run_id}"
            failure = result.replay_failure
            if failure is None:
                reports.append(ReplayReport(source=source, ok=True))
            else:
                reports.append(
                    ReplayReport(
                        source=source,
                        ok=False,
                        nondeterminism=isinstance(failure, workflow.NondeterminismError),
                        error=f"{type(failure).__name__}: {failure}",
                    )
                )
    return reports


async def replay_files(paths: Iterable[Path], *, workflows: Sequence[type] | None = None) -> list[ReplayReport]:
    paths = list(paths)
    histories = [load_history(p) for p in paths]
    label = {h.workflow_id: str(p) for h, p in zip(histories, paths)}
    return await replay(_aiter(histories), workflows=workflows, label=label)


async def replay_run(
    client: Client, workflow_id: str, run_id: str | None = None, *, workflows: Sequence[type] | None = None
) -> list[ReplayReport]:
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return await replay(_aiter([history]), workflows=workflows)


async def replay_query(client: Client, query: str, *, workflows: Sequence[type] | None = None) -> list[ReplayReport]:
    """Every run matching a visibility query, e.g. ``ExecutionStatus='Failed'``."""
    return await replay(client.list_workflows(query).map_histories(), workflows=workflows)


@dataclass(frozen=True)
class StuckRun:
    workflow_id: str
    run_id: str
    workflow_type: str
    attempt: int  # of the pending workflow task; > 1 means the workflow code keeps failing
    failure: str | None  # message of the last recorded workflow task failure

    def line(self) -> str:
        return f"{self.workflow_id} / {self.run_id} ({self.workflow_type}) attempt {self.attempt}: {self.failure}"


async def stuck_runs(client: Client, query: str = "ExecutionStatus='Running'") -> list[StuckRun]:
    """Running runs whose workflow task keeps failing: a bug in workflow code (or a
    nondeterminism error after an incompatible deploy). They make no progress until
    fixed code is deployed; Temporal retries the task with a growing pause."""
    stuck: list[StuckRun] = []
    async for execution in client.list_workflows(query):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        raw = (await handle.describe()).raw_description
        attempt = raw.pending_workflow_task.attempt if raw.HasField("pending_workflow_task") else 0
        if attempt <= 1:
            continue
        failure: str | None = None
        async for event in handle.fetch_history_events():
            if event.HasField("workflow_task_failed_event_attributes"):
                failure = event.workflow_task_failed_event_attributes.failure.message or failure
        stuck.append(StuckRun(execution.id, execution.run_id, execution.workflow_type, attempt, failure))
    return stuck


def _run_id(history: WorkflowHistory) -> str | None:
    if not history.events:
        return None
    started = history.events[0].workflow_execution_started_event_attributes
    return started.original_execution_run_id or None


async def _aiter(items: Iterable[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for item in items:
        yield item
