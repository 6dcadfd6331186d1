"""The tables the bot keeps: runners, their conversation in progress, and finished assessments.

A runner is one Telegram chat, with the language Telegram reports for them (`locale`). Their
conversation holds the dialog state between two messages (the flow it is in, the current step,
the answers so far, the steps visited) and carries a version number checked on every update,
so two writers working from the same old state cannot silently overwrite each other. An
assessment is the immutable record of a finished triage: the answers, the disposition and the
rule codes that led to it, stamped with the rules version that decided.
Deleting a runner deletes everything of theirs in the database itself (ON DELETE CASCADE).

A scheduled message is one follow-up (check-in, reminder, safety net) waiting to be sent, being
sent or done with: the scheduler (`bot.scheduler`) works through them by state, and a runner's
schedule record says whether Telegram still lets the bot reach them (see `bot.db.schedule_store`).

After an assessment the runner is in an episode: the follow-up of one sore ankle, with the
exercise plan's phase and the check-in bookkeeping. Soreness reports, answered check-ins and the
daily exercise log record how it goes (see `bot.db.followup_store`); they point at their episode
but outlive it (ON DELETE SET NULL), and belong to the runner. Their stored codes are the enums
of `flows` (`flows.types` mostly), imported here and never spelled out again: the check
constraints and the active-episode index are built from them, and so is the 0-10 pain range.
The runner's own follow-up settings (time zone, reminder time, paused or stopped) live on the
runner.

Relationships never lazy-load (`raise_on_sql`): objects leave their transaction detached, and
under asyncio an implicit load cannot run at all, so every query is an explicit store function.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from bot.db.types import UTCDateTime
from flows.types import (
    PAIN_MAX,
    PAIN_MIN,
    CarePath,
    EpisodeStatus,
    ExerciseResult,
    Phase,
    ProgrammeStatus,
    SorenessSource,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base whose constraints get predictable names, so migrations can refer to them."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


# The longest first name kept: `bot.db.store` cuts longer ones to fit, since PostgreSQL refuses
# a longer value outright (and with it the whole update).
FIRST_NAME_LENGTH = 128
# Long enough for any IETF language tag Telegram sends ("en", "pt-br"); longer ones are cut.
LOCALE_LENGTH = 16


class Runner(Base):
    """One Telegram chat with the bot."""

    __tablename__ = "runners"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    first_name: Mapped[str | None] = mapped_column(String(FIRST_NAME_LENGTH))
    # The runner's language as Telegram last gave it (`language_code`, lower-cased, such as
    # "en" or "pt-br"); None until an update carried one.
    locale: Mapped[str | None] = mapped_column(String(LOCALE_LENGTH))
    # The language the runner chose with /language (a shipped locale such as "de"); it wins
    # over `locale` until they choose "Automatic" again (None).
    chosen_locale: Mapped[str | None] = mapped_column(String(LOCALE_LENGTH))
    # Follow-up settings. The IANA zone (such as "Europe/Berlin") and the "HH:MM" local time
    # of the daily reminder stay None until the runner chooses them. The flags have server
    # defaults so that runners who existed before these settings get them switched off.
    zone: Mapped[str | None] = mapped_column(String(64))
    reminder_time: Mapped[str | None] = mapped_column(String(5))
    reminders_paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    followups_stopped: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    conversation: Mapped[Conversation | None] = relationship(
        back_populates="runner",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise_on_sql",
    )
    assessments: Mapped[list[Assessment]] = relationship(
        back_populates="runner",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise_on_sql",
        order_by="Assessment.completed_at",
    )


def spoken_locale() -> ColumnElement[str | None]:
    """The language a runner is written to in, as SQL: the one they chose with /language, else
    the one Telegram reports."""
    return func.coalesce(Runner.chosen_locale, Runner.locale)


class Conversation(Base):
    """The dialog a runner is in the middle of; at most one per runner."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    runner_id: Mapped[int] = mapped_column(
        ForeignKey("runners.id", ondelete="CASCADE"), unique=True
    )
    # The dialog the conversation is in (triage, checkin, reminders...), and its step there.
    flow: Mapped[str] = mapped_column(String(24))
    step: Mapped[str] = mapped_column(String(40))
    answers: Mapped[dict[str, str]] = mapped_column(JSON)
    history: Mapped[list[str]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column()
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    runner: Mapped[Runner] = relationship(back_populates="conversation", lazy="raise_on_sql")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


def _in(values: Iterable[StrEnum]) -> str:
    """The SQL list of enum values a check constraint or an index predicate allows."""
    return ", ".join(f"'{member.value}'" for member in values)


class Assessment(Base):
    """A finished triage: what the runner answered and what the rules decided."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    runner_id: Mapped[int] = mapped_column(ForeignKey("runners.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict[str, str]] = mapped_column(JSON)
    disposition: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    rules_version: Mapped[str] = mapped_column(String(20))
    # A `flows.types.CarePath` value, decided from the answers (flows.care_paths).
    care_path: Mapped[str] = mapped_column(String(16))
    plyometric_gate_open: Mapped[bool]
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime]

    __table_args__ = (CheckConstraint(f"care_path IN ({_in(CarePath)})", name="care_path"),)

    runner: Mapped[Runner] = relationship(back_populates="assessments", lazy="raise_on_sql")


class MessageState(StrEnum):
    """Where a scheduled message is in its life; the values are stored, so never change them.

    pending -> queued (the scheduler decided what it says and handed it to the outbox, in the
    same transaction that saved what comes after it) -> sent (the outbox delivered it); or
    dropped (late, or nothing to say), failed (the outbox gave up on it), cancelled (the
    runner's plan changed or they blocked the bot). `claimed` and `sending` belong to the
    scheduler before the outbox existed; migration 0006 moved every such row on, and nothing
    writes them any more.
    """

    PENDING = "pending"
    CLAIMED = "claimed"
    SENDING = "sending"
    QUEUED = "queued"
    SENT = "sent"
    DROPPED = "dropped"
    FAILED = "failed"
    CANCELLED = "cancelled"


# States a message can still leave; only these need the due-time index.
UNFINISHED_STATES = (
    MessageState.PENDING,
    MessageState.CLAIMED,
    MessageState.SENDING,
    MessageState.QUEUED,
)


class ScheduledMessage(Base):
    """One follow-up message for a runner, due at an instant, sent at most once."""

    __tablename__ = "scheduled_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    runner_id: Mapped[int] = mapped_column(ForeignKey("runners.id", ondelete="CASCADE"))
    # A `flows.local_time.FollowUpKind` value.
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(12), default=MessageState.PENDING.value)
    # Failed attempts so far (a RetryAfter is not a failure and does not count).
    attempts: Mapped[int] = mapped_column(default=0)
    # Scheduling the same key again is a no-op, so replays and restarts never double a message.
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The scheduler holding the message, and until when; kept after sending as a record of who
    # sent it.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(f"state IN ({_in(MessageState)})", name="state"),
        # The due query: state = 'pending' AND due_at <= now ORDER BY due_at, id LIMIT n is one
        # range scan. On PostgreSQL the index leaves out finished messages, which pile up as
        # history while the unfinished ones stay few; SQLite would use a partial index only when
        # every query repeats its predicate verbatim, so there it covers every row.
        Index(
            "ix_scheduled_messages_due",
            "state",
            "due_at",
            "id",
            postgresql_where=text(f"state IN ({_in(UNFINISHED_STATES)})"),
        ),
        # A runner's messages by state: /status, cancelling a plan, deleting a runner.
        Index("ix_scheduled_messages_runner_id_state", "runner_id", "state"),
    )


class RunnerSchedule(Base):
    """Whether follow-ups may be sent to a runner; no row means they may.

    A row goes inactive when Telegram refuses every message to the runner (they blocked the bot
    or deleted their account), and active again when they write to the bot.
    """

    __tablename__ = "runner_schedules"

    runner_id: Mapped[int] = mapped_column(
        ForeignKey("runners.id", ondelete="CASCADE"), primary_key=True
    )
    active: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


# A 0-10 pain score; NULL passes, so optional scores use the same check.
ZERO_TO_TEN = f"BETWEEN {PAIN_MIN} AND {PAIN_MAX}"


class Episode(Base):
    """The follow-up of one sore ankle, from an assessment until it resolves or is replaced."""

    __tablename__ = "episodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    runner_id: Mapped[int] = mapped_column(ForeignKey("runners.id", ondelete="CASCADE"), index=True)
    # Indexed because deleting an assessment (with its runner) looks episodes up by it.
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default=EpisodeStatus.ACTIVE.value)
    # A `flows.types.Disposition` name and a `flows.types.Location` value.
    disposition: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(12))
    # The assessment's care path, kept here as the plan's rules follow it (flows.care_paths).
    care_path: Mapped[str] = mapped_column(String(16))
    pain_at_assessment: Mapped[int]
    assessed_at: Mapped[datetime]
    # The exercise plan phase the runner is in (flows.types.Phase).
    phase: Mapped[int] = mapped_column(default=int(Phase.MOBILITY))
    # Check-ins sent and not answered in a row; after the limit, one safety-net message.
    unanswered_checkins: Mapped[int] = mapped_column(default=0)
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(EpisodeStatus)})", name="status"),
        CheckConstraint(f"care_path IN ({_in(CarePath)})", name="care_path"),
        CheckConstraint(f"pain_at_assessment {ZERO_TO_TEN}", name="pain_at_assessment"),
        # At most one active episode per runner, even when two transactions open one at once.
        Index(
            "uq_episodes_active_runner_id",
            "runner_id",
            unique=True,
            postgresql_where=text(f"status = '{EpisodeStatus.ACTIVE.value}'"),
            sqlite_where=text(f"status = '{EpisodeStatus.ACTIVE.value}'"),
        ),
    )


class SorenessReport(Base):
    """One 0-10 soreness score, from an assessment, a check-in or the runner's own report."""

    __tablename__ = "soreness_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    runner_id: Mapped[int] = mapped_column(ForeignKey("runners.id", ondelete="CASCADE"))
    # Indexed so that deleting an episode does not scan the whole table to clear the link.
    episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("episodes.id", ondelete="SET NULL"), index=True
    )
    at: Mapped[datetime]
    value: Mapped[int]
    source: Mapped[str] = mapped_column(String(12))

    __table_args__ = (
        CheckConstraint(f"value {ZERO_TO_TEN}", name="value"),
        CheckConstraint(f"source IN ({_in(SorenessSource)})", name="source"),
        Index("ix_soreness_reports_runner_id_at", "runner_id", "at"),
    )


class CheckInRecord(Base):
    """One answered check-in and what it decided (the pure side is `flows.followup.CheckIn`)."""

    __tablename__ = "check_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    runner_id: Mapped[int] = mapped_column(ForeignKey("runners.id", ondelete="CASCADE"))
    episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("episodes.id", ondelete="SET NULL"), index=True
    )
    at: Mapped[datetime]
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    soreness: Mapped[int]
    # A `flows.types.Trend` value ("" for a seen-check) and a `flows.checkin_rules.Verdict` one.
    trend: Mapped[str] = mapped_column(String(8))
    verdict: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        CheckConstraint(f"soreness {ZERO_TO_TEN}", name="soreness"),
        Index("ix_check_ins_runner_id_at", "runner_id", "at"),
    )


class ExerciseLog(Base):
    """What the runner did about their exercises on one day of their own calendar.

    One row per runner and local date: a second answer for the same day replaces the first.
    """

    __tablename__ = "exercise_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    runner_id: Mapped[int] = mapped_column(ForeignKey("runners.id", ondelete="CASCADE"))
    episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("episodes.id", ondelete="SET NULL"), index=True
    )
    local_date: Mapped[date]
    result: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime]
    pain_during: Mapped[int | None]
    morning_worse: Mapped[bool | None]

    __table_args__ = (
        CheckConstraint(f"result IN ({_in(ExerciseResult)})", name="result"),
        CheckConstraint(f"pain_during {ZERO_TO_TEN}", name="pain_during"),
        # Also the index for a runner's log by date.
        UniqueConstraint("runner_id", "local_date", name="uq_exercise_logs_runner_id_local_date"),
    )


class PlanEvent(Base):
    """Something that happened to a runner's plan: a phase change, a readiness check, a run.

    `kind` says which (a `flows.types.PlanEventKind` value) and `data` holds its details (keyed
    by `PhaseEventKey`, `ReadinessEventKey` or `RunEventKey`); one table for the plan's history
    keeps the chart and the return-to-running logic on a single query.
    """

    __tablename__ = "plan_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    runner_id: Mapped[int] = mapped_column(ForeignKey("runners.id", ondelete="CASCADE"))
    episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("episodes.id", ondelete="SET NULL"), index=True
    )
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(12))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_plan_events_runner_id_at", "runner_id", "at"),)


class Programme(Base):
    """A runner's balance programme after recovery (`flows.prevention`): opted in at
    `started_at`, session 1 on the runner's local date `first_day`, running until its last
    session day unless stopped (`ended_at`). At most one runs per runner."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    runner_id: Mapped[int] = mapped_column(ForeignKey("runners.id", ondelete="CASCADE"), index=True)
    # The resolved episode it follows.
    episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("episodes.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default=ProgrammeStatus.ACTIVE.value)
    first_day: Mapped[date]
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(ProgrammeStatus)})", name="status"),
        Index(
            "uq_programmes_active_runner_id",
            "runner_id",
            unique=True,
            postgresql_where=text(f"status = '{ProgrammeStatus.ACTIVE.value}'"),
            sqlite_where=text(f"status = '{ProgrammeStatus.ACTIVE.value}'"),
        ),
    )


class ProgrammeSession(Base):
    """What the runner said about one session day of their programme; a second answer for the
    same day replaces the first."""

    __tablename__ = "programme_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    runner_id: Mapped[int] = mapped_column(ForeignKey("runners.id", ondelete="CASCADE"))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    local_date: Mapped[date]
    result: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(f"result IN ({_in(ExerciseResult)})", name="result"),
        UniqueConstraint(
            "programme_id", "local_date", name="uq_programme_sessions_programme_id_local_date"
        ),
    )


# --- the inbox and the outbox ---------------------------------------------------------------------


class InboxState(StrEnum):
    """Where a received Telegram update is; stored values.

    pending (stored, not yet applied) -> done (applied: its state changes and replies were
    committed together) or failed (it could not be parsed, or applying it failed every try: set
    aside with its error, so it never blocks its chat or anyone else's).
    """

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class InboxUpdate(Base):
    """One Telegram update as it arrived, stored before Telegram is told it was received.

    `chat_key` is the queue the update joins (its chat, else its user, else 0): updates of one
    chat are applied strictly in `id` order. The raw JSON is kept so that an update the library
    cannot parse is still stored, set aside and looked at, instead of being lost or stalling
    the poller. Operational data: keyed by chat, not by runner, and pruned once applied.
    """

    __tablename__ = "inbox_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger)
    # The update id plus what makes the update itself unique: a redelivery is stored once.
    update_key: Mapped[str] = mapped_column(String(120), unique=True)
    chat_key: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12), default=InboxState.PENDING.value)
    # Failed tries to apply it; a try is not made again before `not_before`.
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(f"state IN ({_in(InboxState)})", name="state"),
        # The applier's queries: the pending updates in arrival order, and one chat's next one.
        Index("ix_inbox_updates_state_id", "state", "id"),
        Index("ix_inbox_updates_chat_key_state_id", "chat_key", "state", "id"),
    )


class OutboxState(StrEnum):
    """Where an outgoing message is; stored values.

    pending -> claimed (a sender holds it under a lease) -> sent; or failed (given up, with the
    reason). Messages that must not be sent twice (`at_most_once`, the scheduled follow-ups)
    also pass through sending, recorded just before the Bot API call: a sender that vanished
    then leaves an unknown outcome, which is failed rather than repeated. Everything else whose
    sender vanished is sent again: a runner missing their answer is worse than seeing it twice.
    """

    PENDING = "pending"
    CLAIMED = "claimed"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxSource(StrEnum):
    """What produced an outgoing message; stored values."""

    REPLY = "reply"  # the answer to a runner's update
    FOLLOW_UP = "followup"  # a scheduled message that came due
    NOTICE = "notice"  # the once-a-day note to a group


OUTBOX_UNFINISHED = (OutboxState.PENDING, OutboxState.CLAIMED, OutboxState.SENDING)


class OutboxMessage(Base):
    """One Bot API call that sends something to a chat: a reply, a follow-up, a notice.

    Written in the transaction whose state change it reports, delivered by the sender in `id`
    order per chat. Keyed by chat, not runner, so that the confirmation of `/delete` still
    leaves after the runner's rows are gone. The text is cleared once it is sent.
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # What produced it (an `OutboxSource`), and the scheduled message, if any.
    source: Mapped[str] = mapped_column(String(12))
    scheduled_id: Mapped[int | None]
    method: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    at_most_once: Mapped[bool] = mapped_column(default=False)
    # An urgent message (emergency advice) is retried for longer before it is given up.
    urgent: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(12), default=OutboxState.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(f"state IN ({_in(OutboxState)})", name="state"),
        Index("ix_outbox_messages_state_not_before_id", "state", "not_before", "id"),
        # "Is an earlier message of this chat unfinished?" and a chat's next message.
        Index("ix_outbox_messages_chat_id_state_id", "chat_id", "state", "id"),
    )


class GroupNotice(Base):
    """When a group or channel was last told that health questions belong in a private chat:
    the bot says it at most once a day per chat and is otherwise silent there."""

    __tablename__ = "group_notices"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    noticed_at: Mapped[datetime]


class SendLane(Base):
    """One budget of send slots shared by every sender on the database (see
    `bot.db.send_limit_store`): the last slot handed out, in microseconds since the epoch.
    The "free" lane's row also holds the bot-wide pause a RetryAfter asks for."""

    __tablename__ = "send_lanes"

    lane: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_slot_us: Mapped[int] = mapped_column(BigInteger, default=0)
    paused_until_us: Mapped[int] = mapped_column(BigInteger, default=0)


class SendChatPace(Base):
    """When a chat may next be sent a message, whichever sender sends it (microseconds since
    the epoch); rows long past are pruned."""

    __tablename__ = "send_chat_pace"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    next_at_us: Mapped[int] = mapped_column(BigInteger)
