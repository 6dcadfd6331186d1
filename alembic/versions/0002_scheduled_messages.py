"""Scheduled messages (check-ins, reminders, safety nets) and each runner's schedule status.

The due index covers (state, due_at, id) so that "state = 'pending' AND due_at <= now ORDER BY
due_at, id LIMIT n" is one range scan; on PostgreSQL it is partial, leaving out finished
messages (SQLite would use a partial index only for queries repeating its predicate verbatim,
so there it covers every row).

Revision ID: 0002_scheduled_messages
Revises: 0001_initial
Create Date: 2026-11-21 03:32:03.552233+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_scheduled_messages"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNFINISHED = sa.text("state IN ('pending', 'claimed', 'sending')")


def upgrade() -> None:
    op.create_table(
        "runner_schedules",
        sa.Column("runner_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["runner_id"],
            ["runners.id"],
            name=op.f("fk_runner_schedules_runner_id_runners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("runner_id", name=op.f("pk_runner_schedules")),
    )
    op.create_table(
        "scheduled_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'claimed', 'sending', 'sent', 'dropped', 'failed', 'cancelled')",
            name=op.f("ck_scheduled_messages_state"),
        ),
        sa.ForeignKeyConstraint(
            ["runner_id"],
            ["runners.id"],
            name=op.f("fk_scheduled_messages_runner_id_runners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_messages")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_scheduled_messages_idempotency_key")),
    )
    op.create_index(
        "ix_scheduled_messages_due",
        "scheduled_messages",
        ["state", "due_at", "id"],
        postgresql_where=UNFINISHED,
    )
    op.create_index(
        "ix_scheduled_messages_runner_id_state", "scheduled_messages", ["runner_id", "state"]
    )


def downgrade() -> None:
    op.drop_index("ix_scheduled_messages_runner_id_state", table_name="scheduled_messages")
    op.drop_index("ix_scheduled_messages_due", table_name="scheduled_messages")
    op.drop_table("scheduled_messages")
    op.drop_table("runner_schedules")
