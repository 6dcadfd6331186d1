"""`load_profile` names the follow-up messages a runner's buttons may answer: the check-ins and
seen-checks that went out (or may have) for their current episode, and no other runner's, no
earlier episode's, none never sent, no other kind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db import followup_store, schedule_store, store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import ScheduledMessage
from bot.db.profile_store import load_profile
from flows import follow_up_schedule
from flows.checkin import REASONS_KEY
from flows.effects import ScheduleMessage
from tests.bot.runners import make_runner

EARLIER = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.for_url(f"sqlite:///{tmp_path / 'bot.db'}")
    upgrade_to_head(database.engine)
    yield database
    database.dispose_sync()


def runner_with_episode(session: Session, *, chat_id: int, assessed_at: datetime) -> int:
    """The runner of `chat_id` (created if new) with a home-care episode assessed then."""
    runner = make_runner(session, chat_id=chat_id, user_id=None, first_name=None, now=assessed_at)
    session.flush()
    answers = {"loc": "outside", "pain": "4"}
    assessment_id = store.record_assessment(
        session,
        runner_id=runner.id,
        answers=answers,
        disposition="HOME_CARE",
        reasons=[],
        care_path="sprain",
        rules_version="test",
        plyometric_gate_open=False,
        started_at=assessed_at,
        completed_at=assessed_at,
    )
    followup_store.open_episode(
        session,
        runner_id=runner.id,
        assessment_id=assessment_id,
        disposition="HOME_CARE",
        location="outside",
        pain_at_assessment=4,
        care_path="sprain",
        assessed_at=assessed_at,
        phase=1,
        now=assessed_at,
    )
    return runner.id


def message(
    session: Session, runner_id: int, *, kind: str, episode: datetime, state: str, n: int
) -> int:
    """A follow-up of the episode assessed at `episode`, moved to `state` as the runtime would."""
    key = f"r{runner_id}:{episode:%Y%m%d}:{kind}:{n}"
    schedule_store.schedule(
        session,
        runner_id=runner_id,
        message=ScheduleMessage(
            kind=kind,
            due_at=episode + timedelta(days=n),
            key=key,
            payload={"episode": follow_up_schedule.episode_key(episode), "n": n, "zone": "UTC"},
        ),
        now=episode,
    )
    sent_at = episode + timedelta(days=n) if state == "sent" else None
    session.execute(
        update(ScheduledMessage)
        .where(ScheduledMessage.idempotency_key == key)
        .values(state=state, sent_at=sent_at)
    )
    return session.scalar(
        select(ScheduledMessage.id).where(ScheduledMessage.idempotency_key == key)
    )


def profile_of(db: Database, chat_id: int):
    return db.run_sync(
        lambda session: load_profile(session, runner=store.find_runner(session, chat_id=chat_id))
    )


def test_only_the_current_episodes_delivered_check_ins_and_seen_checks(db: Database) -> None:
    def seed(session: Session) -> dict[str, int]:
        ids = {}
        runner = runner_with_episode(session, chat_id=1, assessed_at=EARLIER)
        ids["old episode"] = message(
            session, runner, kind="checkin", episode=EARLIER, state="sent", n=1
        )
        # A new assessment: the earlier episode is closed, this one is current.
        runner = runner_with_episode(session, chat_id=1, assessed_at=NOW)
        for n, state in enumerate(("sent", "failed", "pending", "cancelled", "dropped"), 1):
            ids[f"checkin {state}"] = message(
                session, runner, kind="checkin", episode=NOW, state=state, n=n
            )
        ids["seen sent"] = message(
            session, runner, kind="seen_check", episode=NOW, state="sent", n=9
        )
        ids["reminder"] = message(session, runner, kind="reminder", episode=NOW, state="sent", n=8)
        other = runner_with_episode(session, chat_id=2, assessed_at=NOW)
        ids["other runner"] = message(
            session, other, kind="checkin", episode=NOW, state="sent", n=1
        )
        return ids

    ids = db.run_sync(seed)
    profile = profile_of(db, 1)
    # Sent, or failed with an outcome unknown (it may be on their screen); never the rest.
    assert profile.sent_check_ins == {ids["checkin sent"], ids["checkin failed"]}
    assert profile.sent_seen_checks == {ids["seen sent"]}
    # The newest check-in sent and not answered is open, and it is this episode's.
    assert profile.open_check_in == ids["checkin sent"]


def test_a_check_in_an_earlier_episode_left_open_is_not_the_open_one(db: Database) -> None:
    def seed(session: Session) -> int:
        runner = runner_with_episode(session, chat_id=1, assessed_at=EARLIER)
        left_open = message(session, runner, kind="checkin", episode=EARLIER, state="sent", n=1)
        runner_with_episode(session, chat_id=1, assessed_at=NOW)
        return left_open

    left_open = db.run_sync(seed)
    profile = profile_of(db, 1)
    assert left_open not in profile.sent_check_ins
    # So a typed "4/10" is a soreness report, not the answer to that old check-in.
    assert profile.open_check_in is None


def test_a_runner_with_no_episode_can_answer_no_message(db: Database) -> None:
    def seed(session: Session) -> None:
        make_runner(session, chat_id=1, user_id=None, first_name=None, now=NOW)

    db.run_sync(seed)
    profile = profile_of(db, 1)
    assert (profile.sent_check_ins, profile.sent_seen_checks) == (frozenset(), frozenset())


def test_the_reasons_of_a_check_in_that_changed_the_advice_are_the_episodes(db: Database) -> None:
    """A home-care episode escalated at a check-in (worse twice: S6) is seen with S6 as its
    reasons, so a repeat of the advice says why; the assessment's own are kept otherwise."""

    def seed(session: Session, *, escalate: bool) -> None:
        runner = runner_with_episode(session, chat_id=2 if escalate else 3, assessed_at=NOW)
        episode = followup_store.current_episode(session, runner_id=runner)
        assert episode is not None
        calm = {"c_trend": "worse"}
        followup_store.record_check_in(
            session,
            runner_id=runner,
            episode_id=episode.id,
            at=NOW + timedelta(days=1),
            answers=calm,
            soreness=5,
            trend="worse",
            verdict="continue",
        )
        if escalate:
            followup_store.record_check_in(
                session,
                runner_id=runner,
                episode_id=episode.id,
                at=NOW + timedelta(days=2),
                answers={**calm, REASONS_KEY: "S6"},
                soreness=6,
                trend="worse",
                verdict="see_clinician",
            )

    db.run_sync(lambda session: seed(session, escalate=True))
    db.run_sync(lambda session: seed(session, escalate=False))
    escalated, calm = profile_of(db, 2).episode, profile_of(db, 3).episode
    assert escalated is not None and escalated.reasons == ("S6",)
    assert calm is not None and calm.reasons == ()
