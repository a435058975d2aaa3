"""Determinism guard: every recorded history of every released workflow version
replays against the current code with the worker's data converter.

Histories live in tests/histories/<workflow type>/<version>/*.json and are
(re)recorded with ``python -m tests.histories.record`` (docs/ops.md).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lkkctl import ops
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


def test_recorded_files_are_exactly_the_recorder_scenarios() -> None:
    """A renamed or dropped scenario leaves no stale file behind (re-record after editing record.py)."""
    on_disk = {(p.parts[-3], p.stem) for p in RECORDED if p.parts[-2] == record.UNRELEASED}
    scenarios = {(wf, name) for wf, named in record.SCENARIOS.items() for name in named}
    assert on_disk == scenarios


def _payloads(node: object) -> list[str]:
    """Every payload of a history, decoded (history_text's view, payloads only)."""
    if isinstance(node, dict):
        found: list[str] = []
        for key, value in node.items():
            if key == "data" and isinstance(value, str):
                found.append(base64.b64decode(value).decode("utf-8", errors="replace"))
            else:
                found += _payloads(value)
        return found
    if isinstance(node, list):
        return [text for item in node for text in _payloads(item)]
    return []


def test_recorded_histories_hold_no_email_or_secret_fields() -> None:
    assert RECORDED
    for path in RECORDED:
        data = json.loads(path.read_text(encoding="utf-8"))
        text = history_text(data)
        assert f"@{record.EMAIL_DOMAIN}" not in text, path  # the recorder's customers' addresses
        assert record.ARGON2_MARK not in text, path  # password, one-time password and binding-code hashes
        assert record.forbidden_in(data) == [], path
        assert "site-packages" not in text, path  # a failure's stack trace names the recording machine's paths
        # Type names may say "password" (PasswordReset); no payload may carry one, or a token.
        for payload in _payloads(data):
            for word in ("password", "token", "argon2"):
                assert word not in payload.lower(), (path, word, payload[:80])


def test_secret_scan_finds_a_planted_email_and_hash() -> None:
    """The scan above can fail: a history with an address and a hash in a payload is caught."""
    data = json.loads(RECORDED[0].read_text(encoding="utf-8"))
    planted = f'{{"email":"ooo-x@{record.EMAIL_DOMAIN}","hash":"$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"}}'
    for event in data["events"]:
        payloads = (event.get("workflowExecutionStartedEventAttributes") or {}).get("input", {}).get("payloads")
        if payloads:
            payloads[0]["data"] = base64.b64encode(planted.encode()).decode()
            break
    else:
        raise AssertionError("no start input to plant into")
    assert record.forbidden_in(data) == [f"an e-mail address ({record.EMAIL_DOMAIN})", "an argon2 hash"]
    assert record.forbidden_in(data, ["ABCD-EFGH"]) == record.forbidden_in(data)
    assert len(record.forbidden_in(data, ["ooo-x"])) == 3


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
    cli = [sys.executable, "-m", "lkkctl", "ops", "replay"]
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
