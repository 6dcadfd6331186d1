"""One send limit across every sender: slot lanes and each chat's next allowed send.

Revision ID: 0011_send_limit
Revises: 0010_chosen_locale
Create Date: 2026-12-10 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_send_limit"
down_revision: str | Sequence[str] | None = "0010_chosen_locale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As bot.db.send_limit_store.LANES at this migration.
LANES = ("free", "paid")


def upgrade() -> None:
    lanes = op.create_table(
        "send_lanes",
        sa.Column("lane", sa.String(8), primary_key=True),
        sa.Column("last_slot_us", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("paused_until_us", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.bulk_insert(
        lanes, [{"lane": lane, "last_slot_us": 0, "paused_until_us": 0} for lane in LANES]
    )
    op.create_table(
        "send_chat_pace",
        sa.Column("chat_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("next_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("send_chat_pace")
    op.drop_table("send_lanes")
