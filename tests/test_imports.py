"""Who may import whom, from one table, checked on every module of every package.

The controllers import nothing of ours, so that they drive simulated and physical
devices alike; the twin and the hardware bridge see only the controllers (never each
other); the web sees only the controllers and the read port among them; the
composition root (`checkpoint/`) alone wires everything together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

MAY_IMPORT: dict[str, frozenset[str]] = {
    "controllers": frozenset(),
    "twin": frozenset({"controllers"}),
    "hardware_bridge": frozenset({"controllers"}),
    "viz": frozenset({"controllers"}),
    "checkpoint": frozenset({"controllers", "twin", "hardware_bridge", "viz"}),
    "benchmarks": frozenset({"controllers", "twin", "hardware_bridge", "viz", "checkpoint"}),
}
OURS = frozenset(MAY_IMPORT)


def imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth (inside functions and TYPE_CHECKING too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: a relative import; name the package"
            if node.module:
                names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_the_table_names_every_package_of_ours() -> None:
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert packages - {"tests"} <= OURS, f"packages missing from the table: {packages - OURS}"
    assert all(modules(package) for package in OURS)


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_what_the_table_allows(package: str) -> None:
    wrong = []
    for path in modules(package):
        for name in sorted(imported(path)):
            top = name.split(".")[0]
            if top in OURS and top != package and top not in MAY_IMPORT[package]:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == [], "\n".join(wrong)


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    # the check itself must catch one: an import inside a function, of the twin
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from twin.world import World\n    return World\n", encoding="utf-8")
    assert "twin.world" in imported(probe)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Our modules, each with the modules of ours it imports (TYPE_CHECKING imports count
    too: a circle there is two modules that each need the other to be understood)."""
    paths = {module_name(path): path for package in OURS for path in modules(package)}
    return {name: {m for m in imported(path) if m in paths and m != name} for name, path in paths.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle of imports the graph holds, each found once from where it is entered."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        if node in trail:
            found.append(trail[trail.index(node) :] + [node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*trail, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return found


def test_no_module_of_ours_is_in_an_import_circle() -> None:
    found = circles(import_graph())
    assert found == [], "\n".join(" -> ".join(c) for c in found)


def test_the_circle_check_sees_a_circle() -> None:
    # the world builds yards, and a yard that took the world back would close a circle
    graph = {"twin.world": {"twin.yard", "twin.meters"}, "twin.yard": {"twin.carrier"}, "twin.carrier": {"twin.world"}}
    assert circles(graph) == [["twin.carrier", "twin.world", "twin.yard", "twin.carrier"]]
    assert circles({"a": {"b"}, "b": set()}) == []
