"""docs/clinical-basis.md keeps up with the code: every rule code has a row in a rule table
with the "how soon" the code gives it, the rules version is the code's, every care path has a
row in the per-path table, every exercise is named, the run ceilings and the self-tests' phases
are the code's, and nothing in the repository points at clinical notes kept outside it."""

from __future__ import annotations

import os
import re
from pathlib import Path

from flows import rules
from flows.checks import CHECK_PHASE, run_pain_max
from flows.exercise_library import exercises
from flows.types import CarePath, SeeWithin

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "clinical-basis.md").read_text(encoding="utf-8")

HOW_SOON = {
    SeeWithin.TODAY: "today",
    SeeWithin.TODAY_OR_TOMORROW: "today or tomorrow",
    SeeWithin.FEW_DAYS: "within 1-3 days",
}


def rule_rows() -> dict[str, dict[str, str]]:
    """Each table row whose first cell is a rule code, as {column header: cell}."""
    rows: dict[str, dict[str, str]] = {}
    header: list[str] = []
    for line in DOC.splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not header:
            header = cells
        elif re.fullmatch(r"[ES]\d[A-Z]?", cells[0]):
            rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


def test_every_rule_has_a_row_with_the_codes_how_soon() -> None:
    rows = rule_rows()
    for rule in rules.EMERGENCY_RULES:
        assert rows[rule.code]["how soon"], rule.code
    for code in (*(r.code for r in rules.SEE_CLINICIAN_RULES), *rules.CHECK_IN_REASONS):
        stated = re.split(r"[,(]", rows[code]["how soon"])[0].strip()
        assert stated == HOW_SOON[rules.see_within([code])], code
    coded = {r.code for r in (*rules.EMERGENCY_RULES, *rules.SEE_CLINICIAN_RULES)}
    assert set(rows) == coded | set(rules.CHECK_IN_REASONS)


def test_the_rules_version_is_the_codes() -> None:
    assert re.findall(r"currently\s+`([^`]+)`", DOC) == [rules.RULES_VERSION]


def test_every_care_path_is_described() -> None:
    assert [path for path in CarePath if f"`{path.value}`" not in DOC] == []


def tables() -> list[list[dict[str, str]]]:
    """Every table of the document, as its rows of {column header: cell}."""
    found: list[list[dict[str, str]]] = []
    header: list[str] = []
    for line in DOC.splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not header:
            header = cells
            found.append([])
        elif not set(cells[0]) <= {"-"}:
            found[-1].append(dict(zip(header, cells, strict=True)))
    return found


def table_with(*columns: str) -> list[dict[str, str]]:
    """The one table whose header has exactly these columns."""
    [rows] = [rows for rows in tables() if rows and list(rows[0]) == list(columns)]
    return rows


def named_paths(cell: str) -> set[CarePath]:
    return {CarePath(name) for name in re.findall(r"`([a-z_]+)`", cell) if name in set(CarePath)}


def test_every_care_path_has_one_row_in_the_per_path_table() -> None:
    rows = table_with(
        "path",
        "first days (`templates/paths/`)",
        "leads (ids)",
        "never, or not before",
        "hops",
        "running (R8)",
    )
    described = [p for row in rows for p in named_paths(row["path"])]
    assert sorted(described) == sorted(CarePath)


def test_every_exercise_is_named() -> None:
    assert [e.id for e in exercises() if f"`{e.id}`" not in DOC] == []


def test_the_run_ceilings_are_the_codes() -> None:
    rows = table_with("path", "pain ceiling during a run", "before the walk-run")
    stated = {
        path: int(row["pain ceiling during a run"].split("/")[0])
        for row in rows
        for path in named_paths(row["path"])
    }
    assert stated == {path: run_pain_max(path) for path in CarePath}


def test_each_self_test_is_offered_from_the_codes_phase() -> None:
    rows = table_with("test (id)", "offered from phase", "passes when", "why this threshold")
    stated = {
        check: int(row["offered from phase"])
        for row in rows
        for check in re.findall(r"\(`([a-z_]+)`\)", row["test (id)"])
    }
    assert stated == {str(check): int(phase) for check, phase in CHECK_PHASE.items()}


def test_nothing_in_the_repository_points_outside_it() -> None:
    # Split so that this file does not match itself.
    needles = ("../" + "shared", "shared/" + "reference")
    offenders = []
    for folder, subfolders, files in os.walk(ROOT):
        # Hidden folders (.git, .venv, caches), build output and installed metadata are not ours.
        subfolders[:] = [
            name
            for name in subfolders
            if not name.startswith(".")
            and name not in {"__pycache__", "build", "node_modules"}
            and not name.endswith(".egg-info")
        ]
        for name in files:
            path = Path(folder, name)
            text = path.read_bytes().decode("utf-8", errors="ignore")
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in needles if n in text]
    assert offenders == []
