"""What support needs on the phone: a customer's runs, where each stands, and the link
to open it in the Temporal Web UI.

The customer tells support a login or an e-mail. The login is a search attribute
(``LkkLogin``), so Temporal finds every run of it, including expired sign-ups whose
account row is gone. The e-mail is deliberately *not* in Temporal (search attributes
are never encrypted), so it is resolved to the account id in the database first and
the run is found by its id ``onboarding-<account id>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from lkk import validation
from lkk.models import Account, AccountStatus
from lkk.settings import Settings
from lkk.temporal import onboarding_workflow_id, ui_link
from workflows.display import msk
from workflows.search_attributes import LKK_CONTRACT, LKK_LOGIN, LKK_STAGE

QUERY_TIMEOUT = timedelta(seconds=5)  # a query needs a worker; do not hang when none polls
STATE_QUERY = "state"  # every workflow of the service answers it (see workflows/)
METADATA_QUERY = "__temporal_workflow_metadata"  # built into the SDK: current details


@dataclass
class PendingActivity:
    name: str
    attempt: int
    last_failure: str | None


@dataclass
class RunView:
    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    stage: str | None
    login: str | None
    contract: str | None
    started_at: datetime | None
    closed_at: datetime | None
    details: str | None
    state: dict[str, Any] | None
    query_error: str | None
    workflow_task_attempt: int  # > 1: the workflow code keeps failing (ops, see docs/ops.md)
    pending_activities: list[PendingActivity]
    ui_link: str


@dataclass
class FindResult:
    notes: list[str] = field(default_factory=list)
    runs: list[RunView] = field(default_factory=list)


def _quoted(value: str) -> str:
    # Logins are [A-Za-z0-9._@-] (lkk.validation); refuse anything that could break the query.
    if any(ch in value for ch in "'\"\\\n"):
        raise ValueError(f"unsupported character in {value!r}")
    return f"'{value}'"


def _account_by_login(engine: Engine, login: str) -> Account | None:
    with Session(engine) as session:
        return session.exec(select(Account).where(Account.login_key == validation.login_key(login))).first()


def _accounts_by_email(engine: Engine, email: str) -> list[Account]:
    """The confirmed owner first, then pending sign-ups naming the same address (several may)."""
    with Session(engine) as session:
        found = session.exec(select(Account).where(Account.email_key == validation.email_key(email))).all()
    return sorted(found, key=lambda account: (account.status != AccountStatus.ACTIVE, account.created_at))


async def find(
    client: Client, engine: Engine, settings: Settings, *, login: str | None = None, email: str | None = None
) -> FindResult:
    if (login is None) == (email is None):
        raise ValueError("give exactly one of login or email")
    result = FindResult()
    logins: list[str] = []
    workflow_ids: list[str] = []
    if email is not None:
        accounts = _accounts_by_email(engine, email)
        if not accounts:
            result.notes.append(
                "No account with this e-mail in the DB. An unconfirmed sign-up is deleted when it expires "
                "(or when another sign-up confirms the address), and the e-mail is never stored in Temporal: "
                "ask the customer for the login and use --login."
            )
            return result
        for account in accounts:
            result.notes.append(f"DB: account {account.id} (login {account.login}, {account.status}).")
            logins.append(account.login)
            workflow_ids.append(onboarding_workflow_id(account.id))
    else:
        assert login is not None
        logins.append(login)
        account = _account_by_login(engine, login)
        if account is None:
            result.notes.append(
                "Not found in the DB (an expired sign-up is deleted, which frees the login); "
                "searched Temporal by login."
            )
        else:
            result.notes.append(f"DB: account {account.id} (login {account.login}, {account.status}).")
            logins.append(account.login)  # the spelling the customer registered with
            workflow_ids.append(onboarding_workflow_id(account.id))
    clauses = [f"{LKK_LOGIN.name} = {_quoted(x)}" for x in dict.fromkeys(logins)]
    clauses += [f"WorkflowId = {_quoted(x)}" for x in workflow_ids]
    query = " OR ".join(clauses)
    seen: set[str] = set()
    async for execution in client.list_workflows(query):
        if execution.run_id in seen:
            continue
        seen.add(execution.run_id)
        result.runs.append(await _view(client, settings, execution))
    result.runs.sort(key=lambda run: run.started_at or datetime.min, reverse=True)
    if not result.runs:
        result.notes.append(f"No runs in Temporal for: {query}")
    return result


async def _view(client: Client, settings: Settings, execution: WorkflowExecution) -> RunView:
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
    attributes = execution.typed_search_attributes
    details: str | None = None
    state: dict[str, Any] | None = None
    query_error: str | None = None
    try:
        metadata = await handle.query(METADATA_QUERY, result_type=WorkflowMetadata, rpc_timeout=QUERY_TIMEOUT)
        details = metadata.current_details or None
        state = await handle.query(STATE_QUERY, result_type=dict, rpc_timeout=QUERY_TIMEOUT)
    except Exception as err:  # no worker, a failing workflow task, an old run without the query
        query_error = f"{type(err).__name__}: {err}"
    description = await handle.describe()
    raw = description.raw_description
    pending = [
        PendingActivity(
            name=activity.activity_type.name,
            attempt=activity.attempt,
            last_failure=activity.last_failure.message or None if activity.HasField("last_failure") else None,
        )
        for activity in raw.pending_activities
    ]
    task_attempt = raw.pending_workflow_task.attempt if raw.HasField("pending_workflow_task") else 0
    return RunView(
        workflow_id=execution.id,
        run_id=execution.run_id,
        workflow_type=execution.workflow_type,
        status=_status(execution.status),
        stage=attributes.get(LKK_STAGE),
        login=attributes.get(LKK_LOGIN),
        contract=attributes.get(LKK_CONTRACT),
        started_at=execution.start_time,
        closed_at=execution.close_time,
        details=details,
        state=state,
        query_error=query_error,
        workflow_task_attempt=task_attempt,
        pending_activities=pending,
        ui_link=ui_link(settings, execution.id, execution.run_id),
    )


def _status(status: WorkflowExecutionStatus | None) -> str:
    return status.name if status is not None else "UNKNOWN"


def render(result: FindResult) -> str:
    """Plain text for the terminal (the details themselves are the Russian UI text)."""
    lines = list(result.notes)
    if result.runs:
        lines.append(f"Runs: {len(result.runs)} (newest first)")
    for run in result.runs:
        lines += [
            "",
            f"== {run.workflow_type}  {run.workflow_id}",
            f"   run id:    {run.run_id}",
            f"   status:    {run.status}",
            f"   stage:     {run.stage or '-'}" + (f"   contract: {run.contract}" if run.contract else ""),
            f"   login:     {run.login or '-'}",
            f"   started:   {msk(run.started_at) if run.started_at else '-'}",
            f"   closed:    {msk(run.closed_at) if run.closed_at else '-'}",
        ]
        if run.workflow_task_attempt > 1:
            lines.append(
                f"   PROBLEM:   workflow task attempt {run.workflow_task_attempt}: the workflow code fails "
                "(call ops, docs/ops.md)"
            )
        for activity in run.pending_activities:
            failure = f", last failure: {activity.last_failure}" if activity.last_failure else ""
            lines.append(f"   pending:   {activity.name} attempt {activity.attempt}{failure}")
        if run.details:
            lines.append("   details:")
            lines += [f"     {line}" for line in run.details.splitlines()]
        if run.state:
            lines.append("   state:     " + ", ".join(f"{k}={v}" for k, v in run.state.items()))
        if run.query_error:
            lines.append(f"   (query failed: {run.query_error})")
        lines.append(f"   Temporal UI: {run.ui_link}")
    return "\n".join(lines)
