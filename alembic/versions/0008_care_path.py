"""Assessments and episodes keep their care path (`flows.types.CarePath`).

The path chooses the first-days advice, the exercises and the return-to-run rules. Rows written
before it existed are filled once here by the rule of `flows.care_paths.choose_path` as it
stood when this migration was written (`path_of`, frozen below so that a later change of the
rule does not rewrite history), then the columns become NOT NULL with a CHECK on the values.

Revision ID: 0008_care_path
Revises: 0007_flow_and_locale
Create Date: 2026-12-07 12:00:00.000000+00:00
"""

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008_care_path"
down_revision: str | Sequence[str] | None = "0007_flow_and_locale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CARE_PATHS = (
    "sprain",
    "achilles_mid",
    "achilles_ins",
    "peroneal",
    "tib_post",
    "tib_ant",
    "bone_stress",
    "heel",
    "instability",
    "calf_tear",
)
FLAGGED = ("yes", "unsure")
GRADUAL_TENDON = {"outside": "peroneal", "inside": "tib_post", "front": "tib_ant"}


def path_of(answers: Mapping[str, Any] | None) -> str:
    """The care path of stored triage answers (step ids as keys), as decided on 2026-12-07."""
    a = answers or {}
    gradual = a.get("onset") == "gradual"
    location = a.get("loc")
    if gradual and (a.get("s2") in FLAGGED or a.get("s3") in FLAGGED):
        return "bone_stress"
    if not gradual and location == "back":
        return "calf_tear"
    if location != "back" and (
        a.get("s4") in FLAGGED or (not gradual and a.get("start") == "w6plus")
    ):
        return "instability"
    if gradual:
        if location == "back":
            return "achilles_mid" if a.get("achsite") == "mid" else "achilles_ins"
        if location == "heel":
            return "heel"
        return GRADUAL_TENDON.get(str(location), "bone_stress")
    return "sprain"


def _check() -> str:
    return "care_path IN ({})".format(", ".join(f"'{p}'" for p in CARE_PATHS))


def upgrade() -> None:
    for table in ("assessments", "episodes"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("care_path", sa.String(length=16), nullable=True))
    connection = op.get_bind()
    assessments = sa.table(
        "assessments",
        sa.column("id", sa.Integer()),
        sa.column("answers", sa.JSON()),
        sa.column("care_path", sa.String()),
    )
    episodes = sa.table(
        "episodes",
        sa.column("id", sa.Integer()),
        sa.column("assessment_id", sa.Integer()),
        sa.column("care_path", sa.String()),
    )
    paths: dict[int, str] = {}
    for row_id, answers in connection.execute(
        sa.select(assessments.c.id, assessments.c.answers)
    ).all():
        paths[row_id] = path_of(answers)
        connection.execute(
            sa.update(assessments).where(assessments.c.id == row_id).values(care_path=paths[row_id])
        )
    for row_id, assessment_id in connection.execute(
        sa.select(episodes.c.id, episodes.c.assessment_id)
    ).all():
        # An episode whose assessment is gone gets the strictest rules (bone: no running
        # until pain-free).
        connection.execute(
            sa.update(episodes)
            .where(episodes.c.id == row_id)
            .values(care_path=paths.get(assessment_id, "bone_stress"))
        )
    for table in ("assessments", "episodes"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("care_path", existing_type=sa.String(length=16), nullable=False)
            batch_op.create_check_constraint("care_path", _check())


def downgrade() -> None:
    for table in ("episodes", "assessments"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_care_path"), type_="check")
            batch_op.drop_column("care_path")
