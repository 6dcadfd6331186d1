"""The balance programme after recovery: a runner's programmes and their session days.

Revision ID: 0009_programmes
Revises: 0008_care_path
Create Date: 2026-12-07 14:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_programmes"
down_revision: str | Sequence[str] | None = "0008_care_path"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the enums' values as of this migration (flows.types).
PROGRAMME_STATUSES = ("active", "stopped")
EXERCISE_RESULTS = ("done", "skipped", "too_sore")


def _in(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.create_table(
        "programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runner_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"status IN ({_in(PROGRAMME_STATUSES)})", name=op.f("ck_programmes_status")
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episodes.id"],
            name=op.f("fk_programmes_episode_id_episodes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["runner_id"],
            ["runners.id"],
            name=op.f("fk_programmes_runner_id_runners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
    )
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_programmes_episode_id"), ["episode_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_programmes_runner_id"), ["runner_id"], unique=False)
        batch_op.create_index(
            "uq_programmes_active_runner_id",
            ["runner_id"],
            unique=True,
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )
    op.create_table(
        "programme_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runner_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("result", sa.String(length=12), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"result IN ({_in(EXERCISE_RESULTS)})", name=op.f("ck_programme_sessions_result")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_programme_sessions_programme_id_programmes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["runner_id"],
            ["runners.id"],
            name=op.f("fk_programme_sessions_runner_id_runners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_sessions")),
        sa.UniqueConstraint(
            "programme_id",
            "local_date",
            name=op.f("uq_programme_sessions_programme_id_local_date"),
        ),
    )


def downgrade() -> None:
    op.drop_table("programme_sessions")
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.drop_index("uq_programmes_active_runner_id")
        batch_op.drop_index(batch_op.f("ix_programmes_runner_id"))
        batch_op.drop_index(batch_op.f("ix_programmes_episode_id"))
    op.drop_table("programmes")
