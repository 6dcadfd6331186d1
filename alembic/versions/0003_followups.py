"""Follow-ups: episodes, soreness reports, check-ins, the exercise log, and runner settings.

An episode follows one sore ankle from its assessment; at most one per runner is active, which
a partial unique index enforces on both backends. Soreness reports, check-ins and exercise logs
keep their rows when their episode goes (ON DELETE SET NULL); everything goes with the runner
(ON DELETE CASCADE). Every episode_id and assessment_id is indexed so that those referential
actions look rows up instead of scanning the table. The runners' new flags have a server
default of false, so existing runners migrate with reminders on and follow-ups running; on
SQLite the columns are added in place (ALTER TABLE ADD COLUMN), without rebuilding runners, and
only the downgrade rebuilds it (batch mode) to drop them.

Revision ID: 0003_followups
Revises: 0002_scheduled_messages
Create Date: 2026-11-21 03:46:29.826540+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_followups"
down_revision: str | Sequence[str] | None = "0002_scheduled_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    # Plain ADD COLUMN, which SQLite does in place: no batch, so no table rebuild, and
    # `alembic upgrade head --sql` still works without a database to reflect. sa.false()
    # renders per backend (false on PostgreSQL, 0 on SQLite).
    op.add_column("runners", sa.Column("zone", sa.String(length=64), nullable=True))
    op.add_column("runners", sa.Column("reminder_time", sa.String(length=5), nullable=True))
    op.add_column(
        "runners",
        sa.Column("reminders_paused", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "runners",
        sa.Column("followups_stopped", sa.Boolean(), server_default=sa.false(), nullable=False),
    )

    op.create_table(
        "episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runner_id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("disposition", sa.String(length=20), nullable=False),
        sa.Column("location", sa.String(length=12), nullable=False),
        sa.Column("pain_at_assessment", sa.Integer(), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("unanswered_checkins", sa.Integer(), nullable=False),
        sa.Column("checkins_muted", sa.Boolean(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'resolved', 'closed')", name=op.f("ck_episodes_status")
        ),
        sa.CheckConstraint(
            "pain_at_assessment BETWEEN 0 AND 10", name=op.f("ck_episodes_pain_at_assessment")
        ),
        sa.ForeignKeyConstraint(
            ["runner_id"],
            ["runners.id"],
            name=op.f("fk_episodes_runner_id_runners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_episodes_assessment_id_assessments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_episodes")),
    )
    op.create_index(op.f("ix_episodes_runner_id"), "episodes", ["runner_id"])
    op.create_index(op.f("ix_episodes_assessment_id"), "episodes", ["assessment_id"])
    op.create_index(
        "uq_episodes_active_runner_id",
        "episodes",
        ["runner_id"],
        unique=True,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )

    op.create_table(
        "soreness_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runner_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.CheckConstraint("value BETWEEN 0 AND 10", name=op.f("ck_soreness_reports_value")),
        sa.CheckConstraint(
            "source IN ('assessment', 'report', 'checkin')", name=op.f("ck_soreness_reports_source")
        ),
        sa.ForeignKeyConstraint(
            ["runner_id"],
            ["runners.id"],
            name=op.f("fk_soreness_reports_runner_id_runners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episodes.id"],
            name=op.f("fk_soreness_reports_episode_id_episodes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_soreness_reports")),
    )
    op.create_index("ix_soreness_reports_runner_id_at", "soreness_reports", ["runner_id", "at"])
    op.create_index(op.f("ix_soreness_reports_episode_id"), "soreness_reports", ["episode_id"])

    op.create_table(
        "check_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runner_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("soreness", sa.Integer(), nullable=False),
        sa.Column("trend", sa.String(length=8), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.CheckConstraint("soreness BETWEEN 0 AND 10", name=op.f("ck_check_ins_soreness")),
        sa.ForeignKeyConstraint(
            ["runner_id"],
            ["runners.id"],
            name=op.f("fk_check_ins_runner_id_runners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episodes.id"],
            name=op.f("fk_check_ins_episode_id_episodes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_ins")),
    )
    op.create_index("ix_check_ins_runner_id_at", "check_ins", ["runner_id", "at"])
    op.create_index(op.f("ix_check_ins_episode_id"), "check_ins", ["episode_id"])

    op.create_table(
        "exercise_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runner_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=True),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("result", sa.String(length=12), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pain_during", sa.Integer(), nullable=True),
        sa.Column("morning_worse", sa.Boolean(), nullable=True),
        sa.CheckConstraint(
            "result IN ('done', 'skipped', 'too_sore')", name=op.f("ck_exercise_logs_result")
        ),
        sa.CheckConstraint(
            "pain_during BETWEEN 0 AND 10", name=op.f("ck_exercise_logs_pain_during")
        ),
        sa.ForeignKeyConstraint(
            ["runner_id"],
            ["runners.id"],
            name=op.f("fk_exercise_logs_runner_id_runners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episodes.id"],
            name=op.f("fk_exercise_logs_episode_id_episodes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_logs")),
        # One row per runner and day; the upsert in bot.db.followup_store relies on it.
        sa.UniqueConstraint(
            "runner_id", "local_date", name="uq_exercise_logs_runner_id_local_date"
        ),
    )
    op.create_index(op.f("ix_exercise_logs_episode_id"), "exercise_logs", ["episode_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_exercise_logs_episode_id"), table_name="exercise_logs")
    op.drop_table("exercise_logs")
    op.drop_index(op.f("ix_check_ins_episode_id"), table_name="check_ins")
    op.drop_index("ix_check_ins_runner_id_at", table_name="check_ins")
    op.drop_table("check_ins")
    op.drop_index(op.f("ix_soreness_reports_episode_id"), table_name="soreness_reports")
    op.drop_index("ix_soreness_reports_runner_id_at", table_name="soreness_reports")
    op.drop_table("soreness_reports")
    op.drop_index("uq_episodes_active_runner_id", table_name="episodes")
    op.drop_index(op.f("ix_episodes_assessment_id"), table_name="episodes")
    op.drop_index(op.f("ix_episodes_runner_id"), table_name="episodes")
    op.drop_table("episodes")
    # Batch: SQLite before 3.35 cannot drop a column in place.
    with op.batch_alter_table("runners") as batch_op:
        batch_op.drop_column("followups_stopped")
        batch_op.drop_column("reminders_paused")
        batch_op.drop_column("reminder_time")
        batch_op.drop_column("zone")
