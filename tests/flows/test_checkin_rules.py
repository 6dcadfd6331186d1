"""Check-in decisions (reference section 6): re-triage on any red flag, S5, S6, resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.checkin_rules import (
    CheckIn,
    Episode,
    Verdict,
    decide_check_in,
)
from flows.types import Disposition, Trend, YesNo

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def episode(
    *check_ins: CheckIn, pain: int = 5, disposition: Disposition = Disposition.HOME_CARE
) -> Episode:
    return Episode(
        assessed_at=T0, disposition=disposition, pain_at_assessment=pain, check_ins=check_ins
    )


def ci(hours: float, soreness: int, trend: Trend = Trend.SAME, **kw) -> CheckIn:
    return CheckIn(at=at(hours), soreness=soreness, trend=trend, **kw)


@pytest.mark.parametrize(
    ("flags", "four_steps", "reason"),
    [
        ({"circulation": YesNo.YES}, True, "E2"),
        ({}, False, "E4"),
        ({"fever": YesNo.UNSURE}, True, "E5"),
        ({"calf": YesNo.YES}, True, "E6"),
        ({"chest": YesNo.YES}, True, "E6C"),
        ({"severe_pain": YesNo.YES}, True, "E7"),
    ],
    ids=[
        "numb or cold foot",
        "cannot take 4 steps",
        "fever (not sure)",
        "one calf",
        "chest",
        "compartment",
    ],
)
def test_any_red_flag_at_a_check_in_re_triages_as_an_emergency(flags, four_steps, reason) -> None:
    result = decide_check_in(
        episode(), ci(24, 1, Trend.BETTER, flags=flags, can_take_four_steps=four_steps)
    )
    assert result.verdict is Verdict.RETRIAGE
    assert result.decision.disposition is Disposition.EMERGENCY
    assert reason in result.reasons


def test_severe_rising_pain_alone_re_triages_as_compartment_syndrome() -> None:
    """R1: no tight calf is needed (rules 2026.12.1)."""
    result = decide_check_in(episode(), ci(24, 4, flags={"severe_pain": YesNo.YES}))
    assert result.verdict is Verdict.RETRIAGE
    assert result.reasons == ("E7",)


def test_worse_at_two_check_ins_in_a_row_sends_to_a_clinician() -> None:
    first = ci(24, 5, Trend.WORSE)
    result = decide_check_in(episode(first), ci(48, 6, Trend.WORSE))
    assert (result.verdict, result.reasons) == (Verdict.SEE_CLINICIAN, ("S6",))


def test_worse_once_then_same_is_not_s6() -> None:
    result = decide_check_in(episode(ci(24, 5, Trend.WORSE)), ci(48, 5, Trend.SAME))
    assert result.verdict is Verdict.CONTINUE


def test_no_improvement_five_days_after_home_care_sends_to_a_clinician() -> None:
    result = decide_check_in(episode(pain=4), ci(120, 4, Trend.SAME))
    assert (result.verdict, result.reasons) == (Verdict.SEE_CLINICIAN, ("S5",))


def test_before_120_hours_no_improvement_is_not_yet_s5() -> None:
    assert decide_check_in(episode(pain=4), ci(119, 4)).verdict is Verdict.CONTINUE


def test_lower_soreness_after_five_days_is_improvement() -> None:
    assert decide_check_in(episode(pain=4), ci(130, 3)).verdict is Verdict.CONTINUE


def test_a_red_flag_beats_s5_and_s6_but_keeps_them_as_reasons() -> None:
    result = decide_check_in(
        episode(ci(96, 6, Trend.WORSE), pain=4), ci(120, 7, Trend.WORSE, can_take_four_steps=False)
    )
    assert result.verdict is Verdict.RETRIAGE
    assert result.reasons == ("E4", "S5", "S6")


def test_pain_0_or_1_at_three_check_ins_in_a_row_resolves() -> None:
    history = (ci(24, 1, Trend.BETTER), ci(48, 0, Trend.BETTER))
    assert decide_check_in(episode(*history), ci(72, 1)).verdict is Verdict.RESOLVED
    assert decide_check_in(episode(history[0]), ci(48, 1)).verdict is Verdict.CONTINUE
    broken = (ci(24, 1), ci(48, 2))
    assert decide_check_in(episode(*broken), ci(72, 1)).verdict is Verdict.CONTINUE
