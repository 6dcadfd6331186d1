"""How many answers the triage takes to reach its outcome, over the held-out clinical cases.

Each case of tests/flows/test_clinical_cases.py is played button by button through the real
triage (the same player the tests use); the answers it took are counted per disposition: the
median and the maximum for home care and for see-a-clinician, and for each emergency rule the
most answers any case took to reach it. A breadth-first search over every button from /new
then gives the fewest answers that reach each emergency rule (issue 10: at most 3). Last, three
cases told as a story first (tests/flows/test_story.py): the answers after the story (its "Yes",
then the questions left) against the same case button by button.

Run `.venv/bin/python -m bench.answers_to_outcome`; it takes a few seconds.
"""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from typing import TextIO

from flows.rules import EMERGENCY_RULES
from flows.types import Disposition
from tests.flows.test_clinical_cases import CASES, play_triage
from tests.flows.test_story import STORIES, by_story
from tests.flows.test_triage_properties import fewest_answers_to_each_emergency


def answers_by_case() -> dict[str, tuple[Disposition, tuple[str, ...], int]]:
    """Each case's disposition, reasons and the number of answers it took."""
    found = {}
    for case in CASES:
        transcript = play_triage(case.answers)
        found[case.name] = (case.disposition, case.reasons, len(transcript.pressed))
    return found


def main(out: TextIO | None = None) -> int:
    out = out or sys.stdout
    played = answers_by_case()
    by_disposition: dict[Disposition, list[int]] = defaultdict(list)
    by_emergency: dict[str, list[int]] = defaultdict(list)
    for disposition, reasons, answers in played.values():
        by_disposition[disposition].append(answers)
        if disposition is Disposition.EMERGENCY:
            for code in reasons:
                by_emergency[code].append(answers)
    print(f"{len(played)} clinical cases, answers from /new to the outcome", file=out)
    for disposition in (Disposition.HOME_CARE, Disposition.SEE_CLINICIAN):
        counts = by_disposition[disposition]
        print(
            f"{disposition.name.lower()}: {len(counts)} cases, median"
            f" {statistics.median(counts):g}, max {max(counts)}",
            file=out,
        )
    fewest = fewest_answers_to_each_emergency()
    print(
        "emergency rule: most answers in a case / fewest possible (search over buttons)", file=out
    )
    for rule in EMERGENCY_RULES:
        cases = by_emergency.get(rule.code, [])
        most = max(cases) if cases else "-"
        print(f"  {rule.code}: {most} / {fewest.get(rule.code, 'not within 3')}", file=out)
    print("told as a story first: answers after the story (Yes + the rest) / by buttons", file=out)
    for name in sorted(STORIES):
        case, _, told = by_story(name)
        buttons = play_triage(case.answers)
        print(f"  {name}: {1 + len(told.pressed)} / {len(buttons.pressed)}", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
