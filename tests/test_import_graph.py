"""The layers of the product, checked on the real import graph (grimp parses every
import statement of every module, function-level ones included).

    lkkctl/ (the `lkk` command)        devstack/ (embedded dev stack, never in the image)
    api/    worker.py                  <- the processes
    activities/                        <- every side effect, on the domain core
    lkk/                               <- domain core: settings, models, stores, billing, security, mail
    workflows/                         <- the Temporal contract: orchestration, messages, stages, errors, wording

A layer imports only from the layers below it. The one exception: a workflow names the
activity classes it calls, passed through to the sandbox; a chain through
``activities`` is therefore allowed from ``workflows`` (the activities run outside it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("workflows", "lkk", "activities", "api", "lkkctl", "devstack")
PRODUCT = ("workflows", "lkk", "activities", "api")
WORKFLOWS_MUST_NOT_IMPORT = ("lkk", "api", "worker", "lkkctl", "devstack")

# What each layer may import besides itself (and third parties). ``worker`` is a
# top-level module, not a package: grimp sees imports *of* it (as an external module);
# its own imports are read with ``ast`` below.
ALLOWED: dict[str, frozenset[str]] = {
    "workflows": frozenset({"activities"}),  # the activity classes only (see the chain test)
    "lkk": frozenset({"workflows"}),
    "activities": frozenset({"workflows", "lkk"}),
    "api": frozenset({"workflows", "lkk"}),
    "worker": frozenset({"workflows", "lkk", "activities"}),
    "lkkctl": frozenset({"workflows", "lkk", "activities", "worker"}),
    "devstack": frozenset({"workflows", "lkk", "activities", "api", "worker", "lkkctl"}),
}
FIRST_PARTY = frozenset(ALLOWED) | {"tests"}


def build_graph() -> grimp.ImportGraph:
    # cache_dir=None: nothing written into the work tree (the build takes milliseconds).
    return grimp.build_graph(*PACKAGES, include_external_packages=True, cache_dir=None)


def _top(module: str) -> str:
    return module.split(".")[0]


def layer_violations(graph: grimp.ImportGraph) -> list[str]:
    """Direct imports against the direction of the layers."""
    wrong = []
    for importer in sorted(graph.modules):
        layer = _top(importer)
        if layer not in PACKAGES:
            continue  # a third-party module
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            target = _top(imported)
            if target in FIRST_PARTY and target != layer and target not in ALLOWED[layer]:
                wrong.append(f"{importer} imports {imported}")
    return wrong


def worker_violations() -> list[str]:
    tree = ast.parse((ROOT / "worker.py").read_text(encoding="utf-8"))
    names = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
    names += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    return [
        f"worker imports {name}"
        for name in sorted(names)
        if _top(name) in FIRST_PARTY and _top(name) not in ALLOWED["worker"]
    ]


def forbidden_workflow_chains(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Import chains, direct or indirect, from ``workflows`` to a forbidden layer that
    do not pass through ``activities``. Removes ``activities`` from ``graph``."""
    for module in {"activities"} | graph.find_descendants("activities"):
        graph.remove_module(module)
    chains: set[tuple[str, ...]] = set()
    for target in WORKFLOWS_MUST_NOT_IMPORT:
        if target in graph.modules:
            chains |= graph.find_shortest_chains("workflows", target, as_packages=True)
    return sorted(chains)


def _describe(chains: list[tuple[str, ...]]) -> str:
    return "\n".join(" -> ".join(chain) for chain in chains)


def test_the_graph_is_the_real_one() -> None:
    graph = build_graph()
    for module in ("workflows.onboarding", "lkk.settings", "activities.signup", "api.main", "lkkctl.cli"):
        assert module in graph.modules, module


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = layer_violations(build_graph()) + worker_violations()
    assert not wrong, "imports against the layers (see this test's docstring):\n" + "\n".join(wrong)


def test_workflows_import_nothing_of_the_product_but_activities() -> None:
    chains = forbidden_workflow_chains(build_graph())
    assert not chains, (
        "workflows/ is the Temporal contract and must not import lkk, api, worker or the tools "
        "(move the shared type into workflows/, or import workflows from the other side):\n" + _describe(chains)
    )


def test_nothing_in_the_product_imports_the_worker_the_tools_the_dev_stack_or_the_tests() -> None:
    graph = build_graph()
    wrong = [
        f"{importer} imports {imported}"
        for importer in sorted(graph.modules)
        if _top(importer) in PRODUCT
        for imported in sorted(graph.find_modules_directly_imported_by(importer))
        if _top(imported) in {"worker", "lkkctl", "devstack", "tests"}
    ]
    assert not wrong, "\n".join(wrong)


def test_the_checks_find_planted_imports() -> None:
    """The checks can fail: each kind of wrong import, planted in a fresh graph, is reported."""
    planted = build_graph()
    planted.add_import(importer="lkk.settings", imported="api.main")
    planted.add_import(importer="api.main", imported="activities.signup")
    planted.add_import(importer="workflows.messages", imported="lkk.billing.bindings")
    planted.add_import(importer="workflows.display", imported="workflows.timeline")
    planted.add_import(importer="workflows.timeline", imported="api.main")
    wrong = layer_violations(planted)
    assert "lkk.settings imports api.main" in wrong
    assert "api.main imports activities.signup" in wrong
    found = forbidden_workflow_chains(planted)
    assert ("workflows.messages", "lkk.billing.bindings") in found
    assert any(chain[-1] == "api.main" for chain in found), _describe(found)
