"""The layers of the product, checked on the real import graph (grimp).

``workflows`` is the Temporal contract at the bottom: workflow code, the messages that
cross the boundary, their errors and wording. It imports nothing of the rest of the
product except the activity classes it passes through to the sandbox (which may use
anything: a chain through ``activities`` is allowed).
"""

from __future__ import annotations

import grimp

# Packages of the product whose imports are read; the worker module shows up as an
# external module (lkk.ops imports it), which is enough to see an import of it.
PACKAGES = ("workflows", "activities", "lkk", "api")
WORKFLOWS_MUST_NOT_IMPORT = ("lkk", "api", "worker")


def build_graph() -> grimp.ImportGraph:
    # cache_dir=None: nothing written into the work tree (the build takes milliseconds).
    return grimp.build_graph(*PACKAGES, include_external_packages=True, cache_dir=None)


def forbidden_workflow_chains(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Import chains from ``workflows`` to a forbidden layer that do not pass through
    ``activities``. Removes ``activities`` from ``graph``."""
    for module in {"activities"} | graph.find_descendants("activities"):
        graph.remove_module(module)
    chains: set[tuple[str, ...]] = set()
    for target in WORKFLOWS_MUST_NOT_IMPORT:
        if target in graph.modules:
            chains |= graph.find_shortest_chains("workflows", target, as_packages=True)
    return sorted(chains)


def _describe(chains: list[tuple[str, ...]]) -> str:
    return "\n".join(" -> ".join(chain) for chain in chains)


def test_workflows_import_nothing_of_the_product_but_activities() -> None:
    graph = build_graph()
    assert "workflows.onboarding" in graph.modules and "lkk.settings" in graph.modules  # the graph is the real one
    chains = forbidden_workflow_chains(graph)
    assert not chains, (
        "workflows/ is the Temporal contract and must not import lkk, api or worker "
        "(move the shared type into workflows/, or import workflows from the other side):\n" + _describe(chains)
    )


def test_the_check_finds_a_planted_import() -> None:
    """The check can fail: a direct and an indirect forbidden import are both reported."""
    planted = build_graph()
    planted.add_import(importer="workflows.messages", imported="lkk.billing.bindings")
    planted.add_import(importer="workflows.display", imported="workflows.timeline")
    planted.add_import(importer="workflows.timeline", imported="api.main")
    found = forbidden_workflow_chains(planted)
    assert ("workflows.messages", "lkk.billing.bindings") in found
    assert any(chain[-1] == "api.main" for chain in found), _describe(found)
