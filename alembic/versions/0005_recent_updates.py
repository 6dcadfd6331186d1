"""Recent update keys per runner: skip a redelivered update by its key, not by id order.

Revision ID: 0005_recent_updates
Revises: 0004_plan_events
Create Date: 2026-11-21 04:50:18.756331+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_recent_updates"
down_revision: str | Sequence[str] | None = "0004_plan_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite does it in place), so `upgrade --sql` keeps working.
    op.add_column("runners", sa.Column("recent_updates", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runners", schema=None) as batch_op:
        batch_op.drop_column("recent_updates")
