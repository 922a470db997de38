"""Imports run one way, down to single files: no module of ours imports, however
indirectly, a module that imports it back. (lint-imports, in `make lint`, checks the
layers and the cycles between the siblings of each package.)"""

from __future__ import annotations

import grimp

PACKAGES = ("commandcenter", "directory", "scim", "signin", "tokens", "webhooks")


def _cycles(graph: grimp.ImportGraph) -> list[str]:
    cycles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycles.append(" -> ".join((module, *back)))
    return cycles


def test_no_module_imports_itself_through_others() -> None:
    assert _cycles(grimp.build_graph(*PACKAGES, cache_dir=None)) == []


def test_the_check_finds_a_cycle_through_a_third_module() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in (("a.x", "a.y"), ("a.y", "b.z"), ("b.z", "a.x"), ("a.x", "b.w")):
        graph.add_import(importer=importer, imported=imported)
    assert _cycles(graph) == [
        "a.x -> a.y -> b.z -> a.x",
        "a.y -> b.z -> a.x -> a.y",
        "b.z -> a.x -> a.y -> b.z",
    ]
