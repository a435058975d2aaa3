"""The scheduled purge's activity: delete guessing counters that have gone quiet."""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.contracts import lockout_policy
from lkk.billing import lockout
from lkk.settings import Settings
from lkk.store import login_throttle, session_for, transaction
from lkk.timeutil import utcnow
from workflows.messages import PurgeInput, PurgeResult

log = logging.getLogger(__name__)


class MaintenanceActivities:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    @activity.defn(name="purge_stale_counters")
    def purge_stale_counters(self, _params: PurgeInput) -> PurgeResult:
        now = utcnow()
        with session_for(self._engine) as session:
            throttles = login_throttle.purge_stale(session, self._settings, now=now)
            with transaction(session):
                counters = lockout.purge_quiet(session, now, lockout_policy(self._settings))
        log.info("purged %d login-throttle rows and %d binding counters", throttles, counters)
        return PurgeResult(login_throttles=throttles, binding_counters=counters)
