"""Determinism guard: every recorded history of every released workflow version
replays against the current code with the worker's data converter.

Histories live in tests/histories/<workflow type>/<version>/*.json and are
(re)recorded with ``python -m tests.histories.record`` (docs/ops.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lkk import ops
from tests.conftest import ROOT
from tests.harness import history_text
from tests.histories import record
from tests.workflow_variants import OnboardingWithExtraTimer, OnboardingWithPatchedTimer
from worker import WORKFLOWS

HISTORIES = ROOT / "tests" / "histories"
RECORDED = sorted(HISTORIES.glob("*/*/*.json"))


def _type_name(cls: type) -> str:
    return getattr(cls, "__temporal_workflow_definition").name


def test_every_registered_workflow_has_recorded_histories() -> None:
    for cls in WORKFLOWS:
        name = _type_name(cls)
        files = list((HISTORIES / name).glob("*/*.json"))
        assert files, f"no recorded history for {name}: add scenarios to tests/histories/record.py and record them"
        assert name in record.SCENARIOS, f"{name} has no recording scenarios"


def test_recorded_histories_hold_no_email_or_secret_fields() -> None:
    assert RECORDED
    for path in RECORDED:
        text = history_text(json.loads(path.read_text(encoding="utf-8")))
        assert "@example.ru" not in text, path  # no e-mail addresses
        for word in ("password", "token", "argon2"):
            assert word not in text.lower(), (path, word)


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: str(p.relative_to(HISTORIES)))
async def test_recorded_history_replays_against_current_code(path: Path) -> None:
    [report] = await ops.replay_files([path])
    assert report.ok, report.line()


async def test_incompatible_change_fails_replay_with_nondeterminism() -> None:
    onboarding = [p for p in RECORDED if p.parts[-3] == "Onboarding"]
    assert onboarding
    reports = await ops.replay_files(onboarding, workflows=[OnboardingWithExtraTimer])
    assert len(reports) == len(onboarding)
    for report in reports:
        assert not report.ok and report.nondeterminism, report.line()


async def test_the_same_change_behind_workflow_patched_replays() -> None:
    onboarding = [p for p in RECORDED if p.parts[-3] == "Onboarding"]
    reports = await ops.replay_files(onboarding, workflows=[OnboardingWithPatchedTimer])
    assert all(r.ok for r in reports), [r.line() for r in reports if not r.ok]


def test_replay_command_reports_each_file_and_exits_non_zero_on_failure(tmp_path: Path) -> None:
    good = RECORDED[0]
    broken = tmp_path / "broken.json"
    # A history whose first activity was a different one: what an incompatible change looks like.
    data = json.loads(good.read_text(encoding="utf-8"))
    for event in data["events"]:
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if scheduled:
            scheduled["activityType"]["name"] = "some_other_activity"
            break
    broken.write_text(json.dumps(data), encoding="utf-8")
    cli = [sys.executable, "-m", "lkk.cli", "ops", "replay"]
    ok = subprocess.run([*cli, str(good)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("ok ") and "1 ok, 0 failed" in ok.stdout
    bad = subprocess.run([*cli, str(good), str(broken)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "NONDETERMINISM" in bad.stdout and str(broken) in bad.stdout
    assert "1 ok, 1 failed" in bad.stdout


async def test_recorder_writes_histories_that_replay(tmp_path: Path) -> None:
    """The one command the lead runs before a release works, and its output replays."""
    written = await record.record(tmp_path, "vtest", ["Onboarding"])
    assert sorted(p.stem for p in written) == sorted(record.SCENARIOS["Onboarding"])
    assert all(p.parent == tmp_path / "Onboarding" / "vtest" for p in written)
    reports = await ops.replay_files(written)
    assert all(r.ok for r in reports), [r.line() for r in reports]
