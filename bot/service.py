"""One runner event, applied in one database transaction: load, advance, apply effects, remember.

`apply_event` loads the runner (`bot.db.chat_store`, and their `Profile` from
`bot.db.profile_store` when the event needs it), advances the flow, applies its effects in one
call (`bot.db.effects_store`: recording an assessment and opening its episode included) and
stores the new dialog state. The runner's first name and language (`locale`) are kept from
their first update and updated when Telegram reports a change; what they type is read in that
language (as well as in English) and replies are rendered in it.

Both adapters call `apply_event` inside a transaction: the Telegram side through
`apply_inbox_update`, which also writes the replies to the outbox and marks the stored update
applied, so the state, the replies and "this update is done" are committed together (a crash
before the commit leaves the update pending, to be applied after the restart; after it, the
replies are in the outbox and will be sent). The terminal chat calls `apply_event` and prints.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot import i18n, outgoing, progress_chart, summary_pdf
from bot.db import (
    chat_store,
    effects_store,
    group_store,
    inbox_store,
    outbox_store,
    privacy_store,
    profile_store,
    progress_store,
    schedule_store,
    store,
    summary_store,
)
from bot.db.models import Conversation, OutboxSource
from bot.db.progress_store import ProgressData
from flows.dialog import DialogState, Event, Outcome, advance, needs_profile
from flows.effects import ChangeSettings, DeleteEverything, RecordAssessment
from flows.flow import restored
from flows.questions import Translate, untranslated
from flows.runner_commands import SUMMARY_ATTACHMENT
from flows.types import Reply

# A group or channel is told at most this often that health questions belong in a private chat;
# Telegram allows a bot about 20 messages a minute in a group, and one notice is enough.
GROUP_NOTICE_EVERY = timedelta(days=1)
GROUP_NOTICE_TEMPLATE = "triage/group_chat.j2"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Attachment:
    """Data a reply carries besides its text, read in the same transaction: a progress chart's
    data or the /summary page's (drawn when they are sent), or an export file."""

    kind: str
    summary: dict[str, Any]
    progress: ProgressData | None = None
    export: bytes = b""
    # The /summary page as JSON (`bot.summary_pdf.summary_to_json`).
    page: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Sender:
    """Who an event comes from, as the adapter knows it."""

    chat_id: int
    user_id: int | None = None
    first_name: str | None = None
    # Telegram's `language_code` (cleaned and lower-cased), None when the update had none.
    language_code: str | None = None


def state_of(row: Conversation | chat_store.ChatRow | None) -> DialogState | None:
    """The flow's view of a stored conversation (an ORM row or the hot path's joined row)."""
    if row is None:
        return None
    return restored(
        row.flow,
        row.step,
        answers=row.answers or {},
        history=row.history or (),
        version=row.version,
        started_at=row.started_at,
    )


def load_state(session: Session, *, chat_id: int) -> DialogState | None:
    """The stored dialog state of a chat, without changing anything (for tests and tools)."""
    runner = store.find_runner(session, chat_id=chat_id)
    if runner is None:
        return None
    return state_of(store.load_conversation(session, runner_id=runner.id))


def apply_event(session: Session, *, sender: Sender, event: Event, now: datetime) -> Applied:
    """Apply `event` for `sender` and store the result, in the caller's transaction."""
    chat = chat_store.load_chat(session, chat_id=sender.chat_id)
    if chat is None or _profile_changed(chat, sender):
        # First contact (or a new name or language): one upsert creates or updates the runner.
        chat_store.save_runner(
            session,
            chat_id=sender.chat_id,
            user_id=sender.user_id,
            first_name=sender.first_name,
            locale=sender.language_code,
            now=now,
        )
        chat = chat_store.load_chat(session, chat_id=sender.chat_id)
        assert chat is not None
    state = state_of(chat if chat.step is not None else None)
    # Answering triage questions is the busiest path and needs only the runner's settings;
    # everything else sees the whole follow-up profile.
    full = needs_profile(state, event)
    if full:
        profile = profile_store.load_profile(session, runner=chat)
    else:
        profile = profile_store.settings_profile(chat)
    profile = replace(profile, languages=i18n.shipped_locales(), language=chat.chosen_locale)
    locale = i18n.locale_for(chat.chosen_locale or chat.locale)
    outcome = advance(state, event, now=now, profile=profile, translate=words_of(locale))
    # A new language choice holds for the replies to it too.
    for effect in outcome.effects:
        if isinstance(effect, ChangeSettings) and "chosen_locale" in effect.changes:
            locale = i18n.locale_for(effect.changes["chosen_locale"] or chat.locale)
    if full or any(isinstance(e, RecordAssessment) for e in outcome.effects):
        # The runner wrote: a schedule stopped by a block (403) may send again.
        schedule_store.reactivate_schedule(session, runner_id=chat.id, now=now)
    # Read before the effects: erasing the runner must not leave a reply without its data.
    attachments = {
        r.attachment: attachment_for(session, r.attachment, runner_id=chat.id, now=now)
        for r in outcome.replies
        if r.attachment
    }
    effects_store.apply_effects(session, runner_id=chat.id, effects=outcome.effects, now=now)
    erased = any(isinstance(e, DeleteEverything) for e in outcome.effects)
    # Nothing of an erased runner is kept, not even the state of their conversation.
    if outcome.state is not None and not erased:
        new = outcome.state
        version = chat_store.write_conversation(
            session,
            runner_id=chat.id,
            expected_version=state.version if state is not None else None,
            flow=new.flow,
            step=str(new.step),
            answers=dict(new.answers),
            history=[str(s) for s in new.history],
            started_at=new.started_at or now,
            now=now,
        )
        if version != new.version:
            # Buttons carry the version; if the store and the flow disagree, old buttons would
            # be accepted or new ones refused. Fail loudly (the transaction rolls back).
            raise RuntimeError(f"stored version {version} != flow version {new.version}")
    return Applied(outcome, attachments, locale=locale)


def words_of(language_code: str | None) -> Translate:
    """How a runner with this language reads the flows' words (message id -> their words), so
    that what they type is understood in their language as well as in English."""
    locale = i18n.locale_for(language_code)
    # English is what the flows are written in: their own identity keeps its parsing unchanged.
    return untranslated if locale == i18n.SOURCE_LOCALE else i18n.gettext(locale)


def _profile_changed(chat: chat_store.ChatRow, sender: Sender) -> bool:
    return bool(
        (sender.first_name and sender.first_name != chat.first_name)
        or (sender.user_id and sender.user_id != chat.user_id)
        or (sender.language_code and sender.language_code != chat.locale)
    )


@dataclass(frozen=True, slots=True)
class Applied:
    """What `apply_event` did: the flow's outcome, the data its replies attach, and the
    runner's locale to render them in."""

    outcome: Outcome
    attachments: dict[str, Attachment]
    locale: str = i18n.SOURCE_LOCALE

    @property
    def replies(self) -> tuple[Reply, ...]:
        return self.outcome.replies


def attachment_for(session: Session, kind: str, *, runner_id: int, now: datetime) -> Attachment:
    if kind == "export":
        data = privacy_store.export_runner(session, runner_id=runner_id, now=now)
        return Attachment(kind, {}, export=json.dumps(data, indent=2).encode())
    if kind == SUMMARY_ATTACHMENT:
        summary = summary_store.load_summary(session, runner_id=runner_id)
        return Attachment(
            kind,
            {"has_assessment": summary.assessment is not None},
            page=summary_pdf.summary_to_json(summary, now=now),
        )
    progress = progress_store.load_progress(session, runner_id=runner_id)
    return Attachment(
        kind,
        {
            "has_data": progress_chart.has_anything(progress),
            "summary": progress_chart.summary(progress, now=now),
        },
        progress=progress,
    )


# --- updates from the inbox ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunnerEvent:
    """An update from a runner's private chat, as a flow event."""

    sender: Sender
    event: Event


@dataclass(frozen=True, slots=True)
class GroupMessage:
    """Someone wrote in a group or channel the bot is in."""

    chat_id: int
    # The writer's Telegram `language_code` (cleaned), None when unknown (a channel post).
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class Ignored:
    """An update that needs nothing from the bot (an inline-message button, a member change)."""

    why: str


Route = RunnerEvent | GroupMessage | Ignored


def apply_inbox_update(session: Session, *, inbox_id: int, route: Route, now: datetime) -> int:
    """Apply one stored update and mark it done, with its replies in the outbox, all in the
    caller's transaction; how many messages were queued (-1: it was applied before)."""
    # Marked done first: the guarded UPDATE both takes the row's lock and tells whether it was
    # applied before (the whole transaction rolls back if applying fails).
    if not inbox_store.mark_done(session, inbox_id=inbox_id, now=now):
        return -1
    queued = 0
    match route:
        case RunnerEvent(sender=sender, event=event):
            applied = apply_event(session, sender=sender, event=event, now=now)
            if any(isinstance(e, DeleteEverything) for e in applied.outcome.effects):
                # The runner erased their data: what the inbox and outbox hold of them goes too
                # (the confirmation about to be queued, and this update, excepted).
                inbox_store.forget_chat(session, chat_key=sender.chat_id, keep=inbox_id)
                outbox_store.forget_chat(session, chat_id=sender.chat_id)
            queued = queue_replies(session, chat_id=sender.chat_id, applied=applied, now=now)
        case GroupMessage(chat_id=chat_id, language_code=language_code):
            if group_store.claim_notice(
                session, chat_id=chat_id, now=now, every=GROUP_NOTICE_EVERY
            ):
                # A group has no language of its own: the notice answers whoever wrote.
                notice = outgoing.message(
                    Reply(GROUP_NOTICE_TEMPLATE), locale=i18n.locale_for(language_code)
                )
                outgoing.queue(
                    session, chat_id=chat_id, message=notice, source=OutboxSource.NOTICE, now=now
                )
                queued = 1
        case Ignored():
            pass
    return queued


def reply_chat(route: Route) -> int | None:
    """The chat an update's replies go to (None: it gets none)."""
    match route:
        case RunnerEvent(sender=sender):
            return sender.chat_id
        case GroupMessage(chat_id=chat_id):
            return chat_id
    return None


def queue_replies(session: Session, *, chat_id: int, applied: Applied, now: datetime) -> int:
    """Write the replies of an applied event to the outbox, in order; how many."""
    for reply in applied.replies:
        message = _outgoing(reply, applied.attachments.get(reply.attachment), locale=applied.locale)
        outgoing.queue(
            session,
            chat_id=chat_id,
            message=message,
            source=OutboxSource.REPLY,
            urgent=reply.urgent,
            now=now,
        )
    return len(applied.replies)


def _outgoing(reply: Reply, attachment: Attachment | None, *, locale: str) -> outgoing.Outgoing:
    if attachment is None:
        return outgoing.message(reply, locale=locale)
    if attachment.kind == "export":
        return outgoing.export_file(reply, document=attachment.export.decode(), locale=locale)
    if attachment.kind == SUMMARY_ATTACHMENT and attachment.page is not None:
        return outgoing.summary_document(
            reply,
            summary=attachment.page,
            has_assessment=attachment.summary["has_assessment"],
            locale=locale,
        )
    chart = None
    if attachment.progress is not None and attachment.summary.get("has_data"):
        chart = progress_chart.progress_to_json(attachment.progress)
    return outgoing.progress_chart(reply, summary=attachment.summary, chart=chart, locale=locale)


def queue_error_reply(session: Session, *, chat_id: int, now: datetime) -> None:
    """Tell a runner, in their language, that their last update could not be applied (it was
    set aside). A chat never stored (its first update failed) is told in English."""
    locale = i18n.locale_for(chat_store.locale_of(session, chat_id=chat_id))
    message = outgoing.message(Reply("triage/error.j2"), locale=locale)
    outgoing.queue(session, chat_id=chat_id, message=message, source=OutboxSource.REPLY, now=now)
