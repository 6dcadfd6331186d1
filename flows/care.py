"""After the assessment: check-ins, soreness reports, daily reminders and follow-up commands (pure).

Everything here answers one question: given a runner's `Profile` (settings, current episode,
recent soreness, what is scheduled) and one event or one due message, what should the runner
see and what should change? The answers are replies plus `Effect`s (record this, schedule or
cancel that) that the adapter applies in one transaction. Check-ins and seen-checks follow
reference section 6; a check-in is judged by `flows.followup.decide_check_in`, with the same
rules and outcome messages as the first assessment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from flows.advice import OUTCOME_TEMPLATES, outcome_replies, reason_items
from flows.events import (
    CancelMessages,
    ChangeEpisode,
    ChangeSettings,
    CheckInView,
    DialogState,
    Effect,
    EpisodeView,
    OpenEpisode,
    Outcome,
    Profile,
    RecordAssessment,
    RecordCheckIn,
    RecordExercise,
    RecordSoreness,
    ScheduleMessage,
)
from flows.followup import (
    UNANSWERED_LIMIT,
    CheckIn,
    Episode,
    Verdict,
    decide_check_in,
    keeps_nudging,
)
from flows.local_time import (
    CHECKIN_MAX_LATENESS,
    DAYTIME_GRACE,
    FollowUpKind,
    checkin_due_times,
    daytime_from,
    is_daytime,
    local_date_of,
    next_daily_checkin,
    next_local_occurrence,
)
from flows.plan import progress_after_check_in, todays_session, with_check_in
from flows.questions import TRIAGE_STEPS, Step
from flows.replies import info, question_reply
from flows.rules import Answers, Decision
from flows.types import Button, Disposition, Reply, Trend, WeightBearing

SAFETY_NET = "safety_net"
FOLLOW_UP_KINDS = (FollowUpKind.CHECKIN, FollowUpKind.SEEN_CHECK, SAFETY_NET)
# Without a known zone, follow-ups keep the time of day of the assessment (the runner was awake
# then) by adding whole days, instead of guessing a daytime window in the wrong zone.
NOMINAL_DELAYS = {
    Disposition.HOME_CARE: (timedelta(hours=24), timedelta(hours=48), timedelta(hours=72)),
    Disposition.SEE_CLINICIAN: (timedelta(hours=48),),
    Disposition.EMERGENCY: (timedelta(hours=24),),
}


# Why a due message is dropped instead of sent (recorded with the message).
DROP_FOLLOW_UPS_STOPPED = "follow-ups stopped by the runner"
DROP_REMINDER_OFF = "reminders off, paused or changed"
DROP_REMINDER_STALE = "the day the reminder was for is over"
DROP_QUIET = "quiet after the safety net until the runner writes again"
DROP_EPISODE_OVER = "the episode it belongs to is over"
DROP_CLINICIAN_INVOLVED = "check-ins stop once a clinician is involved"
DROP_CHECK_IN_LATE = "too late: the next check-in covers it"
DROP_CHECK_IN_SUPERSEDED = "the next check-in comes before its daytime does"


@dataclass(frozen=True, slots=True)
class Due:
    """What a due scheduled message becomes, decided whole: exactly one of

    - sent: `replies` to send now, and in `follow_ups` the next message of its chain;
    - dropped: `drop_reason`, and in `follow_ups` still the next message of its chain, so that
      downtime never ends one; empty only where the chain ends on purpose (the episode is over,
      follow-ups or reminders are off, or the quiet after the safety net, which writing again
      ends);
    - postponed: `postpone_until`, and no follow-ups: the message itself comes again then and
      is decided afresh.
    """

    replies: tuple[Reply, ...] = ()
    follow_ups: tuple[ScheduleMessage, ...] = ()
    drop_reason: str | None = None
    postpone_until: datetime | None = None

    def __post_init__(self) -> None:
        outcomes = (
            bool(self.replies),
            self.drop_reason is not None,
            self.postpone_until is not None,
        )
        if sum(outcomes) != 1:
            raise ValueError("a Due is exactly one of: replies, a drop reason, a postponement")
        if self.postpone_until is not None and self.follow_ups:
            raise ValueError("a postponed message decides its follow-ups when it comes again")


# --- scheduling --------------------------------------------------------------------------------


def episode_key(assessed_at: datetime) -> str:
    """Identifies an episode in payloads and idempotency keys (its assessment time)."""
    return assessed_at.strftime("%Y%m%dT%H%M%S")


def follow_up_times(
    profile: Profile, *, assessed_at: datetime, disposition: Disposition
) -> list[tuple[str, datetime]]:
    """The check-ins or seen-check an assessment starts, in the runner's daytime if known."""
    if profile.zone:
        return checkin_due_times(
            assessed_at=assessed_at, disposition=disposition, zone=profile.zone
        )
    kind = FollowUpKind.CHECKIN if disposition is Disposition.HOME_CARE else FollowUpKind.SEEN_CHECK
    return [(kind, assessed_at + delay) for delay in NOMINAL_DELAYS[disposition]]


def schedule_follow_up(
    profile: Profile,
    *,
    kind: str,
    due_at: datetime,
    assessed_at: datetime,
    number: int,
    tag: str = "",
) -> ScheduleMessage:
    """A check-in or seen-check of an episode; its key makes scheduling it twice a no-op
    (`tag` tells apart a chain started again later, which may reuse a number). The payload
    carries the tag on, so that the rest of such a chain reuses no number either."""
    key = f"r{profile.runner_id}:e{episode_key(assessed_at)}:{kind}:{number}{tag}"
    payload: dict[str, str | int] = {
        "episode": episode_key(assessed_at),
        "n": number,
        "zone": profile.zone or "UTC",
    }
    if tag:
        payload["tag"] = tag
    return ScheduleMessage(kind=kind, due_at=due_at, key=key, payload=payload)


def next_reminder(profile: Profile, *, after: datetime) -> ScheduleMessage | None:
    """The next daily exercise reminder, when reminders are on and a home-care plan runs."""
    episode = profile.episode
    if (
        profile.reminder_time is None
        or profile.zone is None
        or profile.reminders_paused
        or profile.followups_stopped
        or episode is None
        or episode.status != "active"
        or episode.disposition is not Disposition.HOME_CARE
    ):
        return None
    local = time.fromisoformat(profile.reminder_time)
    due = next_local_occurrence(after=after, local_time=local, zone=profile.zone)
    day = local_date_of(due, profile.zone)
    key = f"r{profile.runner_id}:reminder:{day.isoformat()}:{profile.reminder_time}"
    payload = {"zone": profile.zone, "time": profile.reminder_time}
    return ScheduleMessage(kind=FollowUpKind.REMINDER, due_at=due, key=key, payload=payload)


def after_assessment(profile: Profile, assessment: RecordAssessment) -> tuple[Effect, ...]:
    """A finished assessment opens an episode: soreness recorded, follow-ups scheduled."""
    answers = Answers.from_mapping(assessment.answers)
    disposition = assessment.decision.disposition
    at = assessment.completed_at
    effects: list[Effect] = [
        # An emergency can end the questions before the pain score; 0 stands for "not asked"
        # (the pain at assessment only matters for S5, which applies to home care).
        OpenEpisode(
            disposition=disposition,
            location=answers.location or "all",
            pain_at_assessment=answers.pain or 0,
            assessed_at=at,
        ),
        CancelMessages(FOLLOW_UP_KINDS),
    ]
    if profile.followups_stopped:
        effects.append(ChangeSettings({"followups_stopped": False}))
        profile = replace(profile, followups_stopped=False)
    if answers.pain is not None:
        effects.append(RecordSoreness(at=at, value=answers.pain, source="assessment"))
    kind, due = follow_up_times(profile, assessed_at=at, disposition=disposition)[0]
    effects.append(schedule_follow_up(profile, kind=kind, due_at=due, assessed_at=at, number=1))
    # A reminder time chosen before there was a plan starts with the plan.
    opened = EpisodeView(
        assessed_at=at,
        disposition=disposition,
        location=answers.location or "all",
        pain_at_assessment=answers.pain or 0,
        phase=1,
        status="active",
        answers=dict(assessment.answers),
    )
    reminder = next_reminder(replace(profile, episode=opened), after=at)
    if reminder is not None:
        effects += [CancelMessages((FollowUpKind.REMINDER,)), reminder]
    return tuple(effects)


# --- composing a due message ---------------------------------------------------------------------


def _belongs_to_episode(profile: Profile, payload: dict) -> bool:
    episode = profile.episode
    return (
        episode is not None
        and episode.status == "active"
        and payload.get("episode") == episode_key(episode.assessed_at)
    )


def check_in_reply(message_id: int, *, number: int, plan: bool) -> Reply:
    buttons = tuple(
        tuple(Button(str(v), "checkin", str(message_id), str(v)) for v in row)
        for row in (range(6), range(6, 11))
    )
    return Reply("care/checkin.j2", {"number": number, "plan": plan}, buttons)


def seen_check_reply(message_id: int, disposition: Disposition) -> Reply:
    buttons = (
        (
            Button("Yes, I've been seen", "seen", str(message_id), "y"),
            Button("Not yet", "seen", str(message_id), "n"),
        ),
    )
    return Reply("care/seen_check.j2", {"disposition": disposition.code}, buttons)


def reminder_reply(profile: Profile, day: date, *, now: datetime) -> tuple[Reply, ...]:
    stamp = day.strftime("%Y%m%d")
    buttons = (
        (
            Button("✅ Done", "exercise", stamp, "d"),
            Button("⏭ Skipped", "exercise", stamp, "s"),
            Button("😣 Too sore", "exercise", stamp, "t"),
        ),
    )
    return (info("care/reminder.j2"), replace(todays_session(profile, now=now), buttons=buttons))


def safety_net_sent(profile: Profile) -> bool:
    """Whether the safety net went out since the runner last wrote. It is itself a check-in
    message, the one composed once UNANSWERED_LIMIT had gone unanswered, so it is the next
    one `unanswered_checkins` counts."""
    return profile.unanswered_checkins > UNANSWERED_LIMIT


def compose_due(
    kind: str, payload: dict, *, message_id: int, due_at: datetime, profile: Profile, now: datetime
) -> Due:
    """What a due scheduled message does now (sent, dropped or postponed; see `Due`) and what
    comes after it. Lateness, the daytime window and the quiet after the safety net are all
    judged here, so that the scheduler only carries the decision out."""
    if due_at.utcoffset() is None or now.utcoffset() is None:
        raise ValueError("compose_due needs timezone-aware datetimes")
    # In UTC, so that lateness is elapsed time: Python subtracts two datetimes that share a
    # tzinfo on the wall clock, which is an hour off across a change of the clocks.
    due_at, now = due_at.astimezone(UTC), now.astimezone(UTC)
    if profile.followups_stopped:
        return Due(drop_reason=DROP_FOLLOW_UPS_STOPPED)
    if kind == FollowUpKind.REMINDER:
        return _compose_reminder(payload, due_at=due_at, profile=profile, now=now)
    if not _belongs_to_episode(profile, payload):
        return Due(drop_reason=DROP_EPISODE_OVER)
    episode = profile.episode
    assert episode is not None
    if kind == FollowUpKind.SEEN_CHECK:
        # Sent however late: a one-off after an urgent outcome, and nothing newer will repeat
        # its advice, so late is safer than never (reference: choose the safer option).
        return Due(replies=(seen_check_reply(message_id, episode.disposition),))
    if kind == FollowUpKind.CHECKIN:
        return _compose_check_in(
            payload, message_id=message_id, due_at=due_at, profile=profile, now=now
        )
    return Due(drop_reason=f"unknown kind {kind}")


def _compose_reminder(payload: dict, *, due_at: datetime, profile: Profile, now: datetime) -> Due:
    follow = next_reminder(profile, after=due_at)
    if follow is None or payload.get("time") != profile.reminder_time:
        # Whatever turned reminders off or changed their time also cancelled or replaced them.
        return Due(drop_reason=DROP_REMINDER_OFF)
    zone = profile.zone
    assert zone is not None  # next_reminder gives none without a zone
    today = local_date_of(now, zone)
    # After downtime the chain picks up today, skipping the days that are already over.
    while follow is not None and local_date_of(follow.due_at, zone) < today:
        follow = next_reminder(profile, after=follow.due_at)
    assert follow is not None  # the settings it depends on did not change meanwhile
    if safety_net_sent(profile):
        return Due(drop_reason=DROP_QUIET, follow_ups=(follow,))
    day = local_date_of(due_at, zone)
    if day < today:
        return Due(drop_reason=DROP_REMINDER_STALE, follow_ups=(follow,))
    return Due(replies=reminder_reply(profile, day, now=now), follow_ups=(follow,))


def _compose_check_in(
    payload: dict, *, message_id: int, due_at: datetime, profile: Profile, now: datetime
) -> Due:
    episode = profile.episode
    assert episode is not None
    if episode.disposition is not Disposition.HOME_CARE:
        return Due(drop_reason=DROP_CLINICIAN_INVOLVED)
    if safety_net_sent(profile):
        # The chain ends here on purpose: writing again starts a new one (restart_check_ins).
        return Due(drop_reason=DROP_QUIET)
    number = int(payload.get("n", 1))
    tag = str(payload.get("tag", ""))
    out = _check_in_send_time(due_at=due_at, now=now, zone=profile.zone)
    if out - due_at > CHECKIN_MAX_LATENESS:
        follow = _first_check_in_not_late(
            profile, episode, number=number, tag=tag, due_at=due_at, now=now
        )
        return Due(drop_reason=DROP_CHECK_IN_LATE, follow_ups=(follow,))
    follow = _next_check_in(profile, episode, number=number, tag=tag, due_at=due_at, out=out)
    if out >= follow.due_at:
        return Due(drop_reason=DROP_CHECK_IN_SUPERSEDED, follow_ups=(follow,))
    if out > now:
        return Due(postpone_until=out)
    if not keeps_nudging(profile.unanswered_checkins):
        # Too many unanswered in a row: one safety net instead, then quiet until the runner
        # writes again.
        return Due(replies=(info("care/safety_net.j2"),))
    reply = check_in_reply(message_id, number=number, plan=True)
    return Due(replies=(reply,), follow_ups=(follow,))


def _check_in_send_time(*, due_at: datetime, now: datetime, zone: str | None) -> datetime:
    """When a due check-in may go out: now in the runner's daytime, else when it next begins.
    Without a known zone there is no daytime to keep to, so it is now."""
    if zone is None:
        return now
    if now - due_at <= DAYTIME_GRACE and is_daytime(due_at, zone=zone):
        return now
    return daytime_from(now, zone=zone)


def _next_check_in(
    profile: Profile,
    episode: EpisodeView,
    *,
    number: int,
    tag: str,
    due_at: datetime,
    out: datetime,
) -> ScheduleMessage:
    """The check-in after check-in `number` (due at `due_at`, going out at `out`): the
    assessment's next 24/48/72 h one while one remains after it, then daily."""
    nominal = follow_up_times(
        profile, assessed_at=episode.assessed_at, disposition=episode.disposition
    )
    # A chain started again later may carry a number whose nominal time is long past.
    if number < len(nominal) and nominal[number][1] > due_at:
        due_next = nominal[number][1]
    elif profile.zone:
        # Counted from when this one goes out, so no two are sent closer than a day's gap.
        due_next = next_daily_checkin(after=out, zone=profile.zone)
    else:
        due_next = due_at + timedelta(hours=24)
    return schedule_follow_up(
        profile,
        kind=FollowUpKind.CHECKIN,
        due_at=due_next,
        assessed_at=episode.assessed_at,
        number=number + 1,
        tag=tag,
    )


def _first_check_in_not_late(
    profile: Profile,
    episode: EpisodeView,
    *,
    number: int,
    tag: str,
    due_at: datetime,
    now: datetime,
) -> ScheduleMessage:
    """The check-in that carries a chain on past check-in `number`, dropped as too late: the
    first of its successors not too late itself, so that a long outage is skipped at once."""
    follow = _next_check_in(profile, episode, number=number, tag=tag, due_at=due_at, out=due_at)
    while now - follow.due_at > CHECKIN_MAX_LATENESS:
        follow = _next_check_in(
            profile,
            episode,
            number=int(follow.payload["n"]),
            tag=tag,
            due_at=follow.due_at,
            out=follow.due_at,
        )
    return follow


# --- events --------------------------------------------------------------------------------------


def _stale_note(state: DialogState | None, *, now: datetime) -> Outcome:
    replies: tuple[Reply, ...] = (info("care/already_answered.j2"),)
    if state is not None and state.active:
        replies += (question_reply(state, now=now),)
    return Outcome(replies=replies)


def _version(state: DialogState | None) -> int:
    return (state.version if state is not None else 0) + 1


def _answerable(profile: Profile, message_id: int, sent: frozenset[int]) -> bool:
    """Whether `message_id` is one of the `sent` messages of the runner's active episode and
    is not answered yet. Buttons name their message, and a button can be forged, so the id
    alone proves nothing."""
    episode = profile.episode
    return (
        episode is not None
        and episode.status == "active"
        and message_id in sent
        and message_id not in profile.answered_messages
    )


def start_check_in(
    state: DialogState | None, profile: Profile, *, message_id: int, soreness: int, now: datetime
) -> Outcome:
    """The first answer of a check-in (its soreness button): ask the rest as a conversation.

    Only a check-in sent for the current episode while it is home care, and not answered yet,
    starts one: any other (answered, an earlier episode's, one the advice has moved on from
    since, or an id that was never sent) is stale.
    """
    episode = profile.episode
    if (
        episode is None
        or episode.disposition is not Disposition.HOME_CARE
        or not _answerable(profile, message_id, profile.sent_check_ins)
    ):
        return _stale_note(state, now=now)
    if state is not None and state.active:
        if state.answers.get("ci") == str(message_id):
            return _stale_note(state, now=now)
        if state.step in TRIAGE_STEPS:
            return Outcome(
                replies=(info("care/finish_assessment_first.j2"), question_reply(state, now=now))
            )
    answers = {"c_sore": str(soreness), "ci": str(message_id), "plan": "yes"}
    fresh = DialogState(Step.CHECKIN_TREND, answers, (), _version(state), now)
    return Outcome(state=fresh, replies=(question_reply(fresh, now=now),))


def check_in_view(at: datetime, answers: Answers) -> CheckInView:
    """A check-in just answered, as the stored ones are seen."""
    assert answers.soreness is not None and answers.change is not None
    asked_exercises = answers.exercises is not None
    return CheckInView(
        at=at,
        soreness=answers.soreness,
        trend=answers.change.value,
        exercises_done=answers.exercises in ("all", "some") if asked_exercises else None,
        exercise_pain=answers.exercise_pain,
        morning_worse=None if answers.morning in (None, "unsure") else answers.morning == "worse",
        walking=answers.weight_bearing.value if answers.weight_bearing is not None else None,
    )


def finish_check_in(state: DialogState, profile: Profile, *, now: datetime) -> Outcome:
    answers = Answers.from_mapping(state.answers)
    episode = profile.episode
    done = replace(state, step=Step.DONE)
    assert answers.soreness is not None and answers.change is not None
    flags = {
        name: getattr(answers, name)
        for name in ("circulation", "fever", "calf", "chest", "severe_pain", "tight_calf")
        if getattr(answers, name) is not None
    }
    check_in = CheckIn(
        at=now,
        soreness=answers.soreness,
        trend=answers.change,
        can_take_four_steps=answers.weight_bearing is not WeightBearing.UNABLE,
        flags=flags,
    )
    if episode is None:
        return Outcome(state=done, replies=(info("care/already_answered.j2"),))
    history = tuple(
        CheckIn(at=c.at, soreness=c.soreness, trend=Trend(c.trend)) for c in episode.check_ins
    )
    result = decide_check_in(
        Episode(
            assessed_at=episode.assessed_at,
            disposition=episode.disposition,
            pain_at_assessment=episode.pain_at_assessment,
            check_ins=history,
        ),
        check_in,
    )
    effects: list[Effect] = [
        RecordCheckIn(
            at=now,
            answers=dict(state.answers),
            soreness=answers.soreness,
            trend=answers.change.value,
            verdict=result.verdict.value,
        ),
        RecordSoreness(at=now, value=answers.soreness, source="checkin"),
    ]
    previous = episode.check_ins[-1].soreness if episode.check_ins else episode.pain_at_assessment
    context = {
        "soreness": answers.soreness,
        "previous": previous,
        "change": answers.change.value,
        "exercises": answers.exercises or "",
        "exercise_pain": answers.exercise_pain,
        "morning": answers.morning or "",
    }
    if result.verdict in (Verdict.RETRIAGE, Verdict.SEE_CLINICIAN):
        decision = result.decision
        assert decision is not None
        kind, due = follow_up_times(profile, assessed_at=now, disposition=decision.disposition)[0]
        effects += [
            ChangeEpisode({"disposition": decision.disposition.code}),
            CancelMessages((FollowUpKind.CHECKIN, FollowUpKind.REMINDER)),
            schedule_follow_up(
                profile,
                kind=kind,
                due_at=due,
                assessed_at=episode.assessed_at,
                number=1,
                tag=":escalated",
            ),
        ]
        replies = outcome_replies(answers, decision)[:1]
        return Outcome(
            state=done,
            replies=(info("care/checkin_escalated.j2"), *replies),
            effects=tuple(effects),
        )
    # The plan moves on this check-in's exercise answers, the gate judged on today's.
    counted = with_check_in(profile, check_in_view(now, answers))
    plan_replies, plan_effects = progress_after_check_in(counted, now=now)
    effects += plan_effects
    if result.verdict is Verdict.RESOLVED:
        effects += [
            ChangeEpisode({"status": "resolved", "resolved_at": now}),
            CancelMessages((FollowUpKind.CHECKIN, FollowUpKind.REMINDER)),
        ]
        return Outcome(
            state=done,
            replies=(info("care/resolved.j2", **context), *plan_replies),
            effects=tuple(effects),
        )
    upcoming = next((due for kind, due in profile.upcoming if kind == FollowUpKind.CHECKIN), None)
    return Outcome(
        state=done,
        replies=(
            info("care/checkin_thanks.j2", **context, next_check_in=upcoming, zone=profile.zone),
            *plan_replies,
        ),
        effects=tuple(effects),
    )


def record_soreness(profile: Profile, value: int, *, now: datetime) -> Outcome:
    """A soreness report at any time: recorded, and answered with the trend since the last."""
    previous = profile.soreness[-1] if profile.soreness else None
    context = {
        "value": value,
        "previous": previous[1] if previous else None,
        "since": previous[0] if previous else None,
        "now": now,
    }
    return Outcome(
        replies=(info("care/soreness_noted.j2", **context),),
        effects=(RecordSoreness(at=now, value=value, source="report"),),
    )


def finish_setup(state: DialogState, profile: Profile, *, now: datetime) -> Outcome:
    """The time zone and reminder time are chosen: store them and (re)plan the reminders."""
    answers = Answers.from_mapping(state.answers)
    choice = answers.zone_choice or ""
    zone = answers.city or (choice[1:] if choice.startswith("z") else profile.zone or "UTC")
    reminder_time = None if answers.reminder_time == "off" else answers.reminder_time
    updated = replace(profile, zone=zone, reminder_time=reminder_time, reminders_paused=False)
    effects: list[Effect] = [
        ChangeSettings({"zone": zone, "reminder_time": reminder_time, "reminders_paused": False}),
        CancelMessages((FollowUpKind.REMINDER,)),
    ]
    follow = next_reminder(updated, after=now)
    if follow is not None:
        effects.append(follow)
    context = {
        "zone": zone,
        "reminder_time": reminder_time,
        "next_at": follow.due_at if follow else None,
        "has_plan": follow is not None,
    }
    return Outcome(
        state=replace(state, step=Step.DONE),
        effects=tuple(effects),
        replies=(info("care/reminders_set.j2", **context),),
    )


def start_setup(state: DialogState | None, profile: Profile, *, now: datetime) -> Outcome:
    answers = {"cur_zone": profile.zone} if profile.zone else {}
    fresh = DialogState(Step.ZONE, answers, (), _version(state), now)
    intro = info(
        "care/reminders_intro.j2",
        zone=profile.zone,
        reminder_time=profile.reminder_time,
        paused=profile.reminders_paused,
    )
    return Outcome(state=fresh, replies=(intro, question_reply(fresh, now=now)))


def answer_seen_check(profile: Profile, *, message_id: int, seen: bool, now: datetime) -> Outcome:
    """The answer to "were you seen?". Only a seen-check sent for the active episode and not
    answered yet counts ("yes" closes the episode); any other id is stale."""
    episode = profile.episode
    if episode is None or not _answerable(profile, message_id, profile.sent_seen_checks):
        return Outcome(replies=(info("care/already_answered.j2"),))
    record = RecordCheckIn(
        at=now,
        answers={"ci": str(message_id), "seen": "y" if seen else "n"},
        soreness=profile.soreness[-1][1] if profile.soreness else 0,
        trend="",
        verdict="seen" if seen else "not_seen",
    )
    if seen:
        return Outcome(
            replies=(info("care/seen_yes.j2"),),
            effects=(record, ChangeEpisode({"status": "closed"})),
        )
    # Not seen yet: repeat the advice once, with the reasons it was given for.
    repeat = Reply(
        OUTCOME_TEMPLATES[episode.disposition],
        {
            "answers": Answers.from_mapping(episode.answers),
            "reasons": reason_items(
                Answers.from_mapping(episode.answers),
                Decision(episode.disposition, episode.reasons, ()),
            ),
            "codes": set(episode.reasons),
            "rules_version": "",
        },
    )
    return Outcome(replies=(info("care/seen_no.j2"), repeat), effects=(record,))


# How far back a day's exercises can still be logged: a reminder answered late, not history
# written afresh (a date far off would also break the progress chart).
EXERCISE_LOG_DAYS_BACK = 14
# "Today" moves by a day when the runner changes zone after a reminder was sent.
ZONE_SLACK = timedelta(days=1)


def loggable_days(profile: Profile, *, now: datetime) -> tuple[date, date]:
    """The first and last day of the runner's own calendar whose exercises they can log now:
    not over two weeks back nor before the current episode began, and not after today (with a
    day's slack for a changed zone). Reminders are only sent for days in between."""
    zone = profile.zone or "UTC"
    today = local_date_of(now, zone)
    first = today - timedelta(days=EXERCISE_LOG_DAYS_BACK)
    if profile.episode is not None:
        began = local_date_of(profile.episode.assessed_at, zone)
        first = max(first, began - ZONE_SLACK)
    return first, today + ZONE_SLACK


def log_exercise(profile: Profile, *, day: date, result: str, now: datetime) -> Outcome:
    """A reminder's Done / Skipped / Too sore, logged for the day it was for; a day no
    reminder can have been for (an old button, or a forged date) is stale and logs nothing."""
    first, last = loggable_days(profile, now=now)
    if not first <= day <= last:
        return Outcome(replies=(info("care/already_answered.j2"),))
    return Outcome(
        replies=(info("care/exercise_logged.j2", result=result),),
        effects=(RecordExercise(local_date=day, result=result, at=now),),
    )


def show_status(profile: Profile, *, now: datetime) -> Outcome:
    return Outcome(replies=(info("care/status.j2", profile=profile, now=now),))


def pause(profile: Profile) -> Outcome:
    return Outcome(
        replies=(info("care/paused.j2"),),
        effects=(
            ChangeSettings({"reminders_paused": True}),
            CancelMessages((FollowUpKind.REMINDER,)),
        ),
    )


def resume(profile: Profile, *, now: datetime) -> Outcome:
    updated = replace(profile, reminders_paused=False, followups_stopped=False)
    effects: list[Effect] = [
        ChangeSettings({"reminders_paused": False, "followups_stopped": False})
    ]
    reminder = next_reminder(updated, after=now)
    if reminder is not None:
        effects.append(reminder)
    effects += restart_check_ins(updated, now=now)
    return Outcome(
        replies=(info("care/resumed.j2", has_reminder=reminder is not None),),
        effects=tuple(effects),
    )


def stop(profile: Profile) -> Outcome:
    return Outcome(
        replies=(info("care/stopped.j2"),),
        effects=(ChangeSettings({"followups_stopped": True}), CancelMessages(())),
    )


def restart_check_ins(profile: Profile, *, now: datetime) -> tuple[Effect, ...]:
    """After a quiet spell (two unanswered check-ins) the runner wrote: check in again tomorrow."""
    episode = profile.episode
    if (
        episode is None
        or episode.status != "active"
        or profile.followups_stopped
        or episode.disposition is not Disposition.HOME_CARE
        or any(kind == FollowUpKind.CHECKIN for kind, _ in profile.upcoming)
    ):
        return ()
    due = (
        next_daily_checkin(after=now, zone=profile.zone)
        if profile.zone
        else now + timedelta(hours=24)
    )
    # The check-ins sent so far: those answered and those that went unanswered.
    number = len(episode.check_ins) + profile.unanswered_checkins + 1
    return (
        schedule_follow_up(
            profile,
            kind=FollowUpKind.CHECKIN,
            due_at=due,
            assessed_at=episode.assessed_at,
            number=number,
            tag=f":again{now:%Y%m%d%H%M}",
        ),
    )


def is_check_in(state: DialogState) -> bool:
    return "ci" in state.answers
