"""One runner event, applied in one database transaction: load, advance the flow, store.

Both adapters (Telegram and the terminal chat) call `apply_event` through `Database.run`, so the
whole read-decide-write happens in one transaction and is committed before any reply is sent:
a crash can cost a reply, never an answer. Telegram redelivers an update that was not confirmed
before a crash; the runner's last applied update id makes that a no-op.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import charts, followups
from bot.charts import ProgressData
from bot.db import chat_store, privacy_store, schedule_store, store
from bot.db.models import Conversation
from flows.dialog import DialogState, Event, Outcome, advance, needs_profile
from flows.events import DeleteEverything
from flows.questions import Step
from flows.types import Reply

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Attachment:
    """Data a reply carries besides its text, read in the same transaction: a progress chart's
    data (drawn later, outside the transaction) or an export file."""

    kind: str
    summary: dict[str, Any]
    progress: ProgressData | None = None
    export: bytes = b""


@dataclass(frozen=True, slots=True)
class Sender:
    """Who an event comes from, as the adapter knows it."""

    chat_id: int
    user_id: int | None = None
    first_name: str | None = None
    update_id: int | None = None
    # Identifies the update itself (id plus what it carries), to recognise a redelivery.
    update_key: str | None = None


def state_of(row: Conversation | chat_store.ChatRow | None) -> DialogState | None:
    """The flow's view of a stored conversation (an ORM row or the hot path's joined row)."""
    if row is None:
        return None
    return DialogState(
        step=Step(row.step),
        answers=dict(row.answers or {}),
        history=tuple(Step(s) for s in row.history or ()),
        version=row.version,
        started_at=row.started_at,
    )


def load_state(session: Session, *, chat_id: int) -> DialogState | None:
    """The stored dialog state of a chat, without changing anything (for tests and tools)."""
    runner = store.find_runner(session, chat_id=chat_id)
    if runner is None:
        return None
    return state_of(store.load_conversation(session, runner_id=runner.id))


def apply_event(session: Session, *, sender: Sender, event: Event, now: datetime) -> Applied | None:
    """Apply `event` for `sender` and store the result; None when the update was applied before."""
    chat = chat_store.load_chat(session, chat_id=sender.chat_id)
    if chat is None or _profile_changed(chat, sender):
        # First contact (or a new name): the ORM creates or updates the runner.
        store.get_or_create_runner(
            session,
            chat_id=sender.chat_id,
            user_id=sender.user_id,
            first_name=sender.first_name,
            now=now,
        )
        session.flush()
        chat = chat_store.load_chat(session, chat_id=sender.chat_id)
        assert chat is not None
    if sender.update_key is not None and chat_store.was_applied(chat, sender.update_key):
        log.info("update %s for runner %s was already applied; skipped", sender.update_id, chat.id)
        return None
    state = state_of(chat if chat.step is not None else None)
    # Answering triage questions is the busiest path and needs only the runner's settings;
    # everything else sees the whole follow-up profile.
    full = needs_profile(state, event)
    if full:
        profile = followups.load_profile(session, runner=chat)
    else:
        profile = followups.settings_profile(chat)
    outcome = advance(state, event, now=now, profile=profile)
    if full or outcome.assessment is not None:
        # The runner wrote: a schedule stopped by a block (403) may send again.
        schedule_store.reactivate_schedule(session, runner_id=chat.id, now=now)
    if outcome.state is not None:
        new = outcome.state
        version = chat_store.write_conversation(
            session,
            runner_id=chat.id,
            expected_version=state.version if state is not None else None,
            step=new.step.value,
            answers=dict(new.answers),
            history=[s.value for s in new.history],
            started_at=new.started_at or now,
            now=now,
        )
        if version != new.version:
            # Buttons carry the version; if the store and the flow disagree, old buttons would
            # be accepted or new ones refused. Fail loudly (the transaction rolls back).
            raise RuntimeError(f"stored version {version} != flow version {new.version}")
    if outcome.assessment is not None:
        done = outcome.assessment
        record = store.record_assessment(
            session,
            runner_id=chat.id,
            answers=dict(done.answers),
            disposition=done.decision.disposition.code,
            reasons=list(done.decision.reasons),
            rules_version=done.decision.rules_version,
            plyometric_gate_open=done.decision.plyometric_gate_open,
            started_at=done.started_at,
            completed_at=done.completed_at,
        )
        followups.open_episode_for(
            session,
            runner_id=chat.id,
            assessment_id=record.id,
            answers=dict(done.answers),
            disposition=done.decision.disposition.code,
            assessed_at=done.completed_at,
            now=now,
        )
    attachments = {
        r.attachment: attachment_for(session, r.attachment, runner_id=chat.id, now=now)
        for r in outcome.replies
        if r.attachment
    }
    followups.apply_effects(session, runner_id=chat.id, effects=outcome.effects, now=now)
    if any(isinstance(e, DeleteEverything) for e in outcome.effects):
        return Applied(outcome, attachments)  # the runner is gone: nothing more to remember
    if sender.update_id is not None and sender.update_key is not None:
        chat_store.mark_applied(
            session, chat=chat, update_id=sender.update_id, update_key=sender.update_key
        )
    return Applied(outcome, attachments)


def _profile_changed(chat: chat_store.ChatRow, sender: Sender) -> bool:
    return bool(
        (sender.first_name and sender.first_name != chat.first_name)
        or (sender.user_id and sender.user_id != chat.user_id)
    )


@dataclass(frozen=True, slots=True)
class Applied:
    """What `apply_event` did: the flow's outcome and the data its replies attach."""

    outcome: Outcome
    attachments: dict[str, Attachment]

    @property
    def replies(self) -> tuple[Reply, ...]:
        return self.outcome.replies


def attachment_for(session: Session, kind: str, *, runner_id: int, now: datetime) -> Attachment:
    if kind == "export":
        data = privacy_store.export_runner(session, runner_id=runner_id, now=now)
        return Attachment(kind, {}, export=json.dumps(data, indent=2).encode())
    progress = charts.load_progress(session, runner_id=runner_id)
    return Attachment(
        kind,
        {"has_data": charts.has_anything(progress), "summary": charts.summary(progress, now=now)},
        progress=progress,
    )
