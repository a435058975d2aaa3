"""What every long-lived ЛКК workflow does to stay readable for support: a stage (also
its ``LkkStage`` search attribute) and a log of events, with the Russian current details
refreshed after each change (``workflows.timeline`` words them)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Generic, TypeVar

from temporalio import workflow

from workflows.search_attributes import LKK_STAGE
from workflows.timeline import Event, Kind

StageT = TypeVar("StageT", bound=StrEnum)


class StagedTimeline(Generic[StageT]):
    """Mixed into a workflow class, whose ``__init__`` sets ``_stage`` and ``_events`` and
    which says in ``_details`` how its stage and events read."""

    _stage: StageT
    _events: list[Event]

    def _details(self) -> str:
        raise NotImplementedError

    def _enter(self, stage: StageT) -> None:
        self._stage = stage
        workflow.upsert_search_attributes([LKK_STAGE.value_set(stage.value)])
        self._refresh_details()

    def _log(self, kind: Kind, **data: Any) -> None:
        """Record an event for support's timeline; ``at`` is now in workflow time unless given."""
        data.setdefault("at", workflow.now())
        self._events.append(Event(kind, **data))
        self._refresh_details()

    def _refresh_details(self) -> None:
        workflow.set_current_details(self._details())
