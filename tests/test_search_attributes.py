"""workflows/search_attributes.py is the one list of custom search attributes. Code
derives from it; the Procfile and the namespace job (shell, no Python) are checked here."""

from __future__ import annotations

import re
import shlex

from tests.conftest import ROOT
from workflows.search_attributes import ALL, cli_type, dev_server_flags


def _flag_values(args: list[str]) -> set[str]:
    return {args[i + 1] for i, arg in enumerate(args) if arg == "--search-attribute"}


def test_procfile_dev_server_registers_exactly_the_workflows_attributes() -> None:
    [line] = [line for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines() if line.startswith("temporal:")]
    assert _flag_values(shlex.split(line)) == _flag_values(dev_server_flags()), (
        "Procfile's --search-attribute flags differ from workflows/search_attributes.py"
    )


def test_namespace_job_registers_exactly_the_workflows_attributes() -> None:
    script = (ROOT / "deploy" / "temporal" / "create-namespace.sh").read_text(encoding="utf-8")
    listed = re.search(r"for attribute in ([A-Za-z: ]+); do", script)
    assert listed is not None
    assert listed.group(1).split() == [f"{key.name}:{cli_type(key)}" for key in ALL]
    assert '--type "$type"' in script, "the script registers each attribute with its own type"


def test_cli_type_spelling() -> None:
    assert dev_server_flags()[:2] == ["--search-attribute", "LkkLogin=Keyword"]
    assert dev_server_flags()[-2:] == ["--search-attribute", "LkkContracts=KeywordList"]
