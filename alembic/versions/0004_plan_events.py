"""Plan events: the history of a runner's plan (phase changes, readiness checks, runs).

Revision ID: 0004_plan_events
Revises: 0003_followups
Create Date: 2026-11-21 03:55:26.433745+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_plan_events"
down_revision: str | Sequence[str] | None = "0003_followups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runner_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episodes.id"],
            name=op.f("fk_plan_events_episode_id_episodes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["runner_id"],
            ["runners.id"],
            name=op.f("fk_plan_events_runner_id_runners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_events")),
    )
    with op.batch_alter_table("plan_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_events_episode_id"), ["episode_id"], unique=False)
        batch_op.create_index("ix_plan_events_runner_id_at", ["runner_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plan_events", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_events_runner_id_at")
        batch_op.drop_index(batch_op.f("ix_plan_events_episode_id"))

    op.drop_table("plan_events")
