"""The language a runner chose with /language, kept apart from the one Telegram reports.

Revision ID: 0010_chosen_locale
Revises: 0009_programmes
Create Date: 2026-12-08 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_chosen_locale"
down_revision: str | Sequence[str] | None = "0009_programmes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As bot.db.models.LOCALE_LENGTH at this migration.
LOCALE_LENGTH = 16


def upgrade() -> None:
    # Nullable with no default: every existing runner keeps Telegram's language ("Automatic").
    with op.batch_alter_table("runners") as batch:
        batch.add_column(sa.Column("chosen_locale", sa.String(LOCALE_LENGTH), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runners") as batch:
        batch.drop_column("chosen_locale")
