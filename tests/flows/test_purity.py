"""flows/ stays pure: it imports nothing from telegram, sqlalchemy, jinja2 or alembic (not even
indirectly) and never reads the clock, so the dialog and rules can be tested and reasoned about
on their own."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

FLOWS = Path(__file__).resolve().parents[2] / "flows"
FORBIDDEN = ("telegram", "sqlalchemy", "jinja2", "alembic")
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
}


def flows_modules() -> list[Path]:
    return sorted(FLOWS.rglob("*.py"))


def test_no_flows_module_imports_an_adapter_library() -> None:
    offenders = []
    for path in flows_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_every_flows_module_loads_no_adapter_library() -> None:
    """Checked in a fresh interpreter, so transitive imports are caught too."""
    modules = [f"flows.{p.stem}" for p in flows_modules() if p.stem != "__init__"]
    script = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=FLOWS.parent
    )
    assert len(modules) >= 5
    assert json.loads(loaded.stdout) == []


def test_flows_never_read_the_clock() -> None:
    calls = []
    for path in flows_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and (node.func.value.id, node.func.attr) in CLOCK_CALLS
            ):
                calls.append(f"{path.name}:{node.lineno}")
    assert calls == []


def _flows_imports() -> dict[str, set[str]]:
    """Each flows module -> the flows modules it imports at module level (not under
    TYPE_CHECKING, which never runs)."""
    graph: dict[str, set[str]] = {}
    for path in flows_modules():
        found: set[str] = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "flows":
                    found |= {f"flows.{alias.name}" for alias in node.names}
                elif node.module.startswith("flows."):
                    found.add(node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("flows.")}
        graph[f"flows.{path.stem}"] = found
    return graph


def test_flows_import_no_adapter_of_the_project() -> None:
    """Layering goes one way: bot/ and fakebotapi/ use flows/, never the other way round."""
    offenders = []
    for path in flows_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if n.split(".")[0] in ("bot", "tests", "fakebotapi", "bench")
            ]
    assert offenders == []


def test_flows_modules_import_each_other_without_cycles() -> None:
    graph = _flows_imports()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for imported in graph.get(module, ()):
            visit(imported, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())
    assert len(graph) >= 20
