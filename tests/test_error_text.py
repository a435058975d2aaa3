"""A database error inside an activity that writes a hash must not carry the hash:
SQLAlchemy prints bound parameters into the exception text unless told not to, and
Temporal stores an activity's exception text in the workflow history."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from lkk.settings import Settings
from lkk.temporal import password_reset_workflow_id
from tests.conftest import MailSinkProcess
from tests.harness import PASSWORD, history_text, running_worker, unique_login
from tests.web import make_active_account, post_form, web_client

pytestmark = pytest.mark.asyncio

REFUSAL = "otp writes refused by the test"
# A real database error on the UPDATE that stores the one-time password's argon2 hash.
TRIGGERS = {
    "sqlite": [
        f"CREATE TRIGGER refuse_otp BEFORE UPDATE OF otp_hash ON accounts BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
    ],
    "postgresql": [
        f"CREATE FUNCTION refuse_otp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$",
        "CREATE TRIGGER refuse_otp BEFORE UPDATE OF otp_hash ON accounts FOR EACH ROW EXECUTE FUNCTION refuse_otp()",
    ],
}


async def test_a_database_error_writing_the_otp_hash_keeps_it_out_of_history_and_logs(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    mailsink: MailSinkProcess,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    login = unique_login()
    account_id = make_active_account(engine, settings, login, PASSWORD)
    with engine.begin() as connection:
        for statement in TRIGGERS[engine.dialect.name]:
            connection.execute(text(statement))
    # One attempt, then the retry window closes: the failure lands in the history.
    config = settings.model_copy(update={"password_reset_min_response_ms": 0, "security_mail_retry_seconds": 2})
    async with running_worker(time_skipping_env.client, config) as worker_settings:
        async with web_client(worker_settings, engine, time_skipping_env.client) as web:
            answer = await post_form(web, "/password/forgot", "/password/forgot", {"login": login, "email": f"{login}@example.ru"})
            assert answer.status_code == 200
        handle = time_skipping_env.client.get_workflow_handle(password_reset_workflow_id(account_id))
        history = ""
        for _ in range(120):
            history = history_text((await handle.fetch_history()).to_json_dict())
            if "ActivityTaskTimedOut" in history or "ActivityTaskFailed" in history:
                break
            await time_skipping_env.sleep(timedelta(seconds=5))  # past the retry window
    assert REFUSAL in history, "the database error reached the history (the test forced the right failure)"
    assert "UPDATE accounts" in history
    assert "argon2" not in history, "no hash (SQL parameter) in the workflow history"
    logged = "\n".join(record.getMessage() + str(record.exc_info or "") + (record.exc_text or "") for record in caplog.records)
    assert "argon2" not in caplog.text and "argon2" not in logged, "no hash in the logs"
