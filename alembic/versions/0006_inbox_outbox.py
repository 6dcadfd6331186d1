"""The durable inbox and the one outbox; scheduled messages gain the `queued` state.

Every Telegram update is stored (`inbox_updates`) before it is confirmed, and every message the
bot sends is written (`outbox_messages`) in the transaction that decided it. The scheduler now
hands a due follow-up to the outbox in the same transaction that saves what comes after it, so
`scheduled_messages` no longer uses `claimed` and `sending`: rows left in them by the previous
scheduler are moved on here (a claim was never started, so it is pending again; a send in
flight has an unknown outcome and is failed, as that scheduler would have done).

Revision ID: 0006_inbox_outbox
Revises: 0005_recent_updates
Create Date: 2026-11-29 23:59:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_inbox_outbox"
down_revision: str | Sequence[str] | None = "0005_recent_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATES = "'pending', 'claimed', 'sending', 'sent', 'dropped', 'failed', 'cancelled'"
NEW_STATES = "'pending', 'claimed', 'sending', 'queued', 'sent', 'dropped', 'failed', 'cancelled'"
UNFINISHED_OLD = "state IN ('pending', 'claimed', 'sending')"
UNFINISHED_NEW = "state IN ('pending', 'claimed', 'sending', 'queued')"


def upgrade() -> None:
    op.create_table(
        "inbox_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("update_key", sa.String(length=120), nullable=False),
        sa.Column("chat_key", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'done', 'failed')", name=op.f("ck_inbox_updates_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_updates")),
        sa.UniqueConstraint("update_key", name=op.f("uq_inbox_updates_update_key")),
    )
    op.create_index("ix_inbox_updates_state_id", "inbox_updates", ["state", "id"])
    op.create_index(
        "ix_inbox_updates_chat_key_state_id", "inbox_updates", ["chat_key", "state", "id"]
    )
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("scheduled_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("at_most_once", sa.Boolean(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'claimed', 'sending', 'sent', 'failed')",
            name=op.f("ck_outbox_messages_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index(
        "ix_outbox_messages_state_not_before_id",
        "outbox_messages",
        ["state", "not_before", "id"],
    )
    op.create_index(
        "ix_outbox_messages_chat_id_state_id", "outbox_messages", ["chat_id", "state", "id"]
    )
    op.create_table(
        "group_notices",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_group_notices")),
    )
    _replace_state_check(NEW_STATES, UNFINISHED_NEW)
    # Redeliveries are recognised by the inbox now, not by each runner's recent update keys.
    with op.batch_alter_table("runners", schema=None) as batch_op:
        batch_op.drop_column("recent_updates")
        batch_op.drop_column("last_update_id")
    op.execute(
        "UPDATE scheduled_messages SET state = 'pending', claimed_by = NULL, "
        "claimed_until = NULL WHERE state = 'claimed'"
    )
    op.execute(
        "UPDATE scheduled_messages SET state = 'failed', last_error = 'outcome unknown: "
        "the scheduler stopped after starting to send (upgrade)' WHERE state = 'sending'"
    )


def downgrade() -> None:
    with op.batch_alter_table("runners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_update_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("recent_updates", sa.JSON(), nullable=True))
    op.execute("UPDATE scheduled_messages SET state = 'sent' WHERE state = 'queued'")
    _replace_state_check(OLD_STATES, UNFINISHED_OLD)
    op.drop_table("group_notices")
    op.drop_index("ix_outbox_messages_chat_id_state_id", table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_state_not_before_id", table_name="outbox_messages")
    op.drop_table("outbox_messages")
    op.drop_index("ix_inbox_updates_chat_key_state_id", table_name="inbox_updates")
    op.drop_index("ix_inbox_updates_state_id", table_name="inbox_updates")
    op.drop_table("inbox_updates")


def _replace_state_check(states: str, unfinished: str) -> None:
    with op.batch_alter_table("scheduled_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_scheduled_messages_state"), type_="check")
        batch_op.create_check_constraint("state", f"state IN ({states})")
    if op.get_context().dialect.name == "postgresql":
        # The due index leaves out finished messages; `queued` is unfinished.
        op.drop_index("ix_scheduled_messages_due", table_name="scheduled_messages")
        op.create_index(
            "ix_scheduled_messages_due",
            "scheduled_messages",
            ["state", "due_at", "id"],
            postgresql_where=sa.text(unfinished),
        )
