"""What the package imports, pyproject.toml declares (issue 10, item 15: ``offline/runner.py``
imported tqdm, which a ``pip install`` of the app does not bring)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _declared() -> set[str]:
    """Distributions pyproject.toml names (required and extras), with what they require in turn."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [_name(r) for r in project["dependencies"]]
    # the "bench" extra serves bench/ only: what irspack pulls in (pandas, optuna...) must not excuse
    # an import inside the package
    extras = {k: v for k, v in project["optional-dependencies"].items() if k != "bench"}
    todo += [_name(r) for extra in extras.values() for r in extra]
    seen: set[str] = set()
    while todo:
        dist = todo.pop()
        if dist in seen:
            continue
        seen.add(dist)
        try:
            requires = metadata.requires(dist) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [_name(r) for r in requires if "extra ==" not in r]
    return seen


def _guarded(tree: ast.Module) -> set[int]:
    """Line numbers of imports inside ``try: ... except ImportError`` (optional speed-ups)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in {"ImportError", "ModuleNotFoundError"}
            for h in node.handlers
        ):
            for inner in node.body:
                lines.update(n.lineno for n in ast.walk(inner) if isinstance(n, ast.Import | ast.ImportFrom))
    return lines


def _third_party_imports() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "recommendations").rglob("*.py")):
        tree = ast.parse(path.read_text())
        guarded = _guarded(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if node.lineno in guarded:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "recommendations":
                    found.setdefault(top, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_import_of_the_package_is_a_declared_dependency():
    declared = _declared()
    providers = metadata.packages_distributions()
    undeclared = {
        top: where
        for top, where in _third_party_imports().items()
        if not {d.lower().replace("_", "-") for d in providers.get(top, [top])} & declared
    }
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
