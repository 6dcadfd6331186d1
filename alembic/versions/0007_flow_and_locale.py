"""Conversations name their flow, runners keep their language, episodes lose `checkins_muted`.

`conversations.flow` says which dialog a conversation is in, so nothing has to guess it from the
step or the answer keys any more; existing rows are backfilled by exactly that guess, once, here
(`flow_of`), in Python over the rows so that it reads the same on SQLite and PostgreSQL.
`runners.locale` is the language tag Telegram gives (`language_code`), None until one is seen.
`episodes.checkins_muted` was written and never read: the safety net does not need it.

Revision ID: 0007_flow_and_locale
Revises: 0006_inbox_outbox
Create Date: 2026-12-06 12:00:00.000000+00:00
"""

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007_flow_and_locale"
down_revision: str | Sequence[str] | None = "0006_inbox_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Steps of the dialogs other than triage, as stored when this migration was written. Check-in
# steps all start with "c_".
STEP_FLOWS = {
    "r_walk": "readiness",
    "r_stand": "readiness",
    "r_squat": "readiness",
    "r_jog": "readiness",
    "r_hops": "readiness",
    "r_pain": "run_log",
    "r_morn": "run_log",
    "r_swell": "run_log",
    "sore": "soreness",
    "zone": "reminders",
    "city": "reminders",
    "rtime": "reminders",
    "del": "delete",
}
# A finished conversation ("done") is recognised by its answers; first match wins, since a
# seen-check's answers are kept beside earlier ones.
DONE_ANSWER_FLOWS = (
    ("seen", "seen_check"),
    ("ci", "checkin"),
    ("r_walk", "readiness"),
    ("r_pain", "run_log"),
    ("sore", "soreness"),
    ("rtime", "reminders"),
    ("del", "delete"),
)
DONE = "done"
TRIAGE = "triage"


def flow_of(step: str, answers: Mapping[str, Any] | None) -> str:
    """The flow a stored conversation is in, from its step and (when done) its answers."""
    if step.startswith("c_"):
        return "checkin"
    if step in STEP_FLOWS:
        return STEP_FLOWS[step]
    if step == DONE:
        keys = answers or {}
        return next((flow for key, flow in DONE_ANSWER_FLOWS if key in keys), TRIAGE)
    return TRIAGE


def upgrade() -> None:
    with op.batch_alter_table("runners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=16), nullable=True))
    with op.batch_alter_table("episodes", schema=None) as batch_op:
        batch_op.drop_column("checkins_muted")
    # Nullable first, filled in, then NOT NULL: existing rows need a value the database cannot
    # compute itself.
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flow", sa.String(length=24), nullable=True))
    conversations = sa.table(
        "conversations",
        sa.column("id", sa.Integer()),
        sa.column("step", sa.String()),
        sa.column("answers", sa.JSON()),
        sa.column("flow", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(conversations.c.id, conversations.c.step, conversations.c.answers)
    ).all()
    for row_id, step, answers in rows:
        connection.execute(
            sa.update(conversations)
            .where(conversations.c.id == row_id)
            .values(flow=flow_of(step, answers))
        )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.alter_column("flow", existing_type=sa.String(length=24), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("flow")
    with op.batch_alter_table("episodes", schema=None) as batch_op:
        # A server default, so that the episodes that exist get a value.
        batch_op.add_column(
            sa.Column("checkins_muted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("runners", schema=None) as batch_op:
        batch_op.drop_column("locale")
