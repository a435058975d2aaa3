from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from lkkctl.billing import app
from lkk.billing.registry import SqlBillingRegistry, VerificationStatus
from lkk.db import make_engine
from lkk.timeutil import utcnow
from .support import OPEN_LEGAL, SAMPLE_CSV, SAMPLE_JSON

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
CODE_LINE = re.compile(r"^Binding code: ([2-9A-Z]{4}-[2-9A-Z]{4})$", re.MULTILINE)


def test_import_then_issue_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    result = runner.invoke(app, ["import", str(SAMPLE_JSON), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "contracts: 5 created" in result.output
    result = runner.invoke(app, ["import", str(SAMPLE_CSV), "--database-url", url])
    assert "contracts: 0 created, 0 updated, 5 unchanged" in result.output

    first = runner.invoke(app, ["issue-code", OPEN_LEGAL[0], "--valid-days", "10", "--database-url", url])
    assert first.exit_code == 0, first.output
    code = CODE_LINE.search(first.stdout).group(1)  # type: ignore[union-attr]
    engine = make_engine(url)
    registry = SqlBillingRegistry(engine)
    assert registry.verify_binding(*OPEN_LEGAL, code, utcnow()).status == VerificationStatus.OK

    second = runner.invoke(app, ["issue-code", OPEN_LEGAL[0], "--database-url", url])
    new_code = CODE_LINE.search(second.stdout).group(1)  # type: ignore[union-attr]
    assert registry.verify_binding(*OPEN_LEGAL, code, utcnow()).status == VerificationStatus.WRONG_DATA
    assert registry.verify_binding(*OPEN_LEGAL, new_code, utcnow()).status == VerificationStatus.OK
    engine.dispose()


def test_issue_code_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    runner.invoke(app, ["import", str(SAMPLE_JSON), "--database-url", url])
    unknown = runner.invoke(app, ["issue-code", "7701-999999", "--database-url", url])
    assert unknown.exit_code == 1 and "not found" in unknown.stderr
    closed = runner.invoke(app, ["issue-code", "7701-000105", "--database-url", url])
    assert closed.exit_code == 1 and "closed" in closed.stderr
    too_long = runner.invoke(app, ["issue-code", OPEN_LEGAL[0], "--valid-days", "400", "--database-url", url])
    assert too_long.exit_code != 0


def test_bad_file_exits_non_zero_and_lists_lines(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    lines = SAMPLE_CSV.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(";НН;", ";XX;")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["import", str(bad), "--database-url", url])
    assert result.exit_code == 1
    assert "nothing imported" in result.stderr and "line 4, voltage_level" in result.stderr
    dry = runner.invoke(app, ["import", str(SAMPLE_JSON), "--dry-run", "--database-url", url])
    assert dry.exit_code == 0 and "dry run" in dry.output
    again = runner.invoke(app, ["import", str(SAMPLE_JSON), "--database-url", url])
    assert "contracts: 5 created" in again.output  # neither the bad file nor the dry run wrote anything


def test_runs_as_a_module_with_settings_from_the_environment(tmp_path: Path) -> None:
    env = {**os.environ, "LKK_DATABASE_URL": f"sqlite:///{tmp_path}/env.db", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "lkkctl.billing", "import", str(SAMPLE_JSON)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "meters: 12 created" in run.stdout
    assert (tmp_path / "env.db").exists()
