"""dunning: marketing opt-out per member, segmentation rules as stored versions

Revision ID: 0008_dunning_more
Revises: 0007_gate_key_rotation
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hub.models.base

revision: str = "0008_dunning_more"
down_revision: str | Sequence[str] | None = "0007_gate_key_rotation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(
            sa.Column(
                "marketing_opt_out_at", hub.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
    op.create_table(
        "dunningsegments",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("created_at", hub.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_dunningsegments")),
    )


def downgrade() -> None:
    op.drop_table("dunningsegments")
    with op.batch_alter_table("member") as batch:
        batch.drop_column("marketing_opt_out_at")
