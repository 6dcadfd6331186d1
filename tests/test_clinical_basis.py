"""docs/clinical-basis.md keeps up with the rules: every rule code has a row in a rule table
with the "how soon" the code gives it, the rules version is the code's, every care path is
described, and nothing in the repository points at clinical notes kept outside it."""

from __future__ import annotations

import os
import re
from pathlib import Path

from flows import rules
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
