"""The answers-to-outcome figures: printed for every disposition and emergency rule, and within
issue 10's aims (a home-care median of at most 12 answers, every emergency within 3)."""

from __future__ import annotations

import io
import re
import statistics

from bench.answers_to_outcome import answers_by_case, main
from flows.rules import EMERGENCY_RULES
from flows.types import Disposition


def test_the_figures_are_printed_for_each_disposition_and_emergency() -> None:
    out = io.StringIO()
    assert main(out) == 0
    text = out.getvalue()
    assert re.search(r"^home_care: \d+ cases, median [\d.]+, max \d+$", text, re.M)
    assert re.search(r"^see_clinician: \d+ cases, median [\d.]+, max \d+$", text, re.M)
    for rule in EMERGENCY_RULES:
        (line,) = re.findall(rf"^  {rule.code}: (\d+) / (\d+)$", text, re.M)
        assert int(line[1]) <= 3, rule.code


def test_home_care_takes_a_median_of_at_most_12_answers() -> None:
    home = [n for d, _, n in answers_by_case().values() if d is Disposition.HOME_CARE]
    assert statistics.median(home) <= 12
