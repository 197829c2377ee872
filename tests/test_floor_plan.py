"""The floor plan holds: no import cycle between the package's direct children (function-local
imports count too), and no module grows past what one idea needs."""

from __future__ import annotations

from pathlib import Path

import grimp

import recommendations

PACKAGE = Path(recommendations.__file__).parent
MAX_LINES = 400


def _children_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("recommendations")
    edges: dict[str, set[str]] = {}
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            a, b = importer.split(".")[:2], imported.split(".")[:2]
            if len(a) == 2 and len(b) == 2 and a[0] == b[0] == "recommendations" and a[1] != b[1]:
                edges.setdefault(a[1], set()).add(b[1])
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, or None (iterative DFS with colours)."""
    state: dict[str, int] = {}
    for start in edges:
        if state.get(start):
            continue
        stack = [(start, iter(sorted(edges.get(start, ()))))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return [*path[path.index(child) :], child]
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(edges.get(child, ())))))
                path.append(child)
    return None


def test_no_import_cycle_between_direct_children():
    edges = _children_graph()
    assert edges, "the import graph is empty: grimp did not see the package"
    assert _cycle(edges) is None, f"import cycle: {' -> '.join(_cycle(edges) or [])}"


def test_cycle_finder_finds_a_planted_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_module_over_400_lines():
    too_long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts and (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"
