"""The flows' stored and carried codes come from their enums: the buttons a reminder and a
seen-check carry read back as the enums' members, and each answer enum is exactly the choices
of the questions that store it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flows import checkin, delete, readiness
from flows.due_messages import seen_check_reply
from flows.events import EXERCISE_RESULTS, AnswerSeenCheck, LogExercise, event_for_button
from flows.questions import MORNING_CHOICES
from flows.types import (
    EXERCISE_RESULT_CODES,
    Button,
    ButtonAction,
    Disposition,
    ExerciseResult,
    Morning,
    YesNo,
)

DAY = date(2026, 3, 2)


def test_every_exercise_result_has_one_button_code_and_reads_back():
    assert set(EXERCISE_RESULT_CODES) == set(ExerciseResult)
    assert len(set(EXERCISE_RESULT_CODES.values())) == len(ExerciseResult)
    for result, code in EXERCISE_RESULT_CODES.items():
        event = event_for_button(Button("", ButtonAction.EXERCISE, "20260302", code), 0)
        assert event == LogExercise(local_date=DAY, result=result)
        assert EXERCISE_RESULTS[code] is result


def test_a_seen_checks_buttons_read_back_as_seen_and_not_seen():
    (row,) = seen_check_reply(7, Disposition.EMERGENCY).buttons
    events = [event_for_button(button, 0) for button in row]
    assert events == [AnswerSeenCheck(7, seen=True), AnswerSeenCheck(7, seen=False)]


def test_each_answer_enum_is_exactly_its_questions_choices():
    def choice_values(flow, step) -> set[str]:
        now = datetime(2026, 3, 2, tzinfo=UTC)
        return {c.value for c in flow.questions[step].choices_for({}, now)}

    assert {c.value for c in MORNING_CHOICES} == set(Morning)
    assert choice_values(checkin.FLOW, checkin.CheckInStep.EXERCISES) == set(
        checkin.ExercisesAnswer
    )
    for check in readiness.YES_NO_FIELDS:
        step = readiness.STEP_OF[check]
        assert choice_values(readiness.FLOW, step) == set(readiness.ReadinessResult)
    assert choice_values(delete.FLOW, delete.DeleteStep.CONFIRM) == {YesNo.YES, YesNo.NO}


def test_a_stored_check_in_reads_its_exercise_and_morning_answers_as_before():
    assert [checkin.exercises_done(v) for v in ("all", "some", "none", None, "")] == [
        True,
        True,
        False,
        None,
        None,
    ]
    assert [checkin.morning_worse(v) for v in ("worse", "settled", "unsure", None)] == [
        True,
        False,
        None,
        None,
    ]
