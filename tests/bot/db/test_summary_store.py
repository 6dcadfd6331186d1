"""What the /summary PDF is drawn from (bot.db.summary_store), on SQLite and PostgreSQL: the
runner's first name, their latest assessment as stored, and the plan of the episode it opened."""

from __future__ import annotations

from datetime import date, timedelta

from bench.summary_page import ASSESSED, NOW, played
from bot import summary_pdf
from bot.db import effects_store, summary_store
from bot.db.database import Database
from bot.db.progress_store import ExerciseDay
from flows import triage
from flows.effects import RecordExercise
from flows.profile import Profile
from flows.rules import RULES_VERSION
from flows.state import DialogState
from flows.types import DONE, CarePath, ExerciseResult
from tests.bot.runners import make_runner
from tests.bot.test_summary_pdf import SPRAIN


def test_load_summary_reads_the_latest_assessment_and_its_plan(db: Database) -> None:
    runner_id = db.run_sync(
        make_runner, chat_id=42, user_id=None, first_name="Ada", now=ASSESSED
    ).id
    empty = db.run_sync(summary_store.load_summary, runner_id=runner_id)
    assert (empty.first_name, empty.assessment, empty.plan) == ("Ada", None, None)

    answers = played(SPRAIN)
    # The effects of the triage's end: the assessment recorded and its episode opened.
    finished = triage.finish(DialogState(DONE, answers), Profile(runner_id=runner_id), ASSESSED)
    logged = RecordExercise(date(2026, 12, 3), ExerciseResult.DONE, ASSESSED + timedelta(days=1))
    for effects, at in ((finished.effects, ASSESSED), ((logged,), ASSESSED + timedelta(days=1))):
        db.run_sync(effects_store.apply_effects, runner_id=runner_id, effects=effects, now=at)

    data = db.run_sync(summary_store.load_summary, runner_id=runner_id)
    assert data.assessment is not None and data.plan is not None
    assert dict(data.assessment.answers) == answers
    assert list(data.assessment.answers) == list(answers)  # in the order they were answered
    assert data.assessment.disposition == "HOME_CARE"
    assert data.assessment.care_path == CarePath.SPRAIN
    assert data.assessment.rules_version == RULES_VERSION
    assert data.plan.phase == 1 and data.plan.days == (ExerciseDay(date(2026, 12, 3), "done"),)
    page = summary_pdf.summary_to_json(data, now=NOW)
    assert page["plan"]["done"] == 1 and page["plan"]["has_plan"]
