"""The tables the bot keeps: runners, their conversation in progress, and finished assessments.

A runner is one Telegram chat. Their conversation holds the dialog state between two messages
(the current step, the answers so far, the steps visited) and carries a version number that the
ORM checks on every update, so two writers working from the same old state cannot silently
overwrite each other. An assessment is the immutable record of a finished triage: the answers,
the disposition and the rule codes that led to it, stamped with the rules version that decided.
Deleting a runner deletes everything of theirs in the database itself (ON DELETE CASCADE).

Relationships never lazy-load (`raise_on_sql`): objects leave their transaction detached, and
under asyncio an implicit load cannot run at all, so every query is an explicit store function.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, ForeignKey, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.db.types import UTCDateTime

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


class Runner(Base):
    """One Telegram chat with the bot."""

    __tablename__ = "runners"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    first_name: Mapped[str | None] = mapped_column(String(128))
    # The last Telegram update applied for this runner: an update redelivered after a crash
    # (same or lower id) has already changed the state and must be skipped.
    last_update_id: Mapped[int | None] = mapped_column(BigInteger)
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


class Conversation(Base):
    """The dialog a runner is in the middle of; at most one per runner."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    runner_id: Mapped[int] = mapped_column(
        ForeignKey("runners.id", ondelete="CASCADE"), unique=True
    )
    step: Mapped[str] = mapped_column(String(40))
    answers: Mapped[dict[str, str]] = mapped_column(JSON)
    history: Mapped[list[str]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column()
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    runner: Mapped[Runner] = relationship(back_populates="conversation", lazy="raise_on_sql")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class Assessment(Base):
    """A finished triage: what the runner answered and what the rules decided."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    runner_id: Mapped[int] = mapped_column(ForeignKey("runners.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict[str, str]] = mapped_column(JSON)
    disposition: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    rules_version: Mapped[str] = mapped_column(String(20))
    plyometric_gate_open: Mapped[bool]
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime]

    runner: Mapped[Runner] = relationship(back_populates="assessments", lazy="raise_on_sql")
