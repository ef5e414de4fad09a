"""gate key rotation: the previous key and the end of its overlap

Revision ID: 0007_gate_key_rotation
Revises: 0006_usage
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hub.models.base

revision: str = "0007_gate_key_rotation"
down_revision: str | Sequence[str] | None = "0006_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gate") as batch:
        batch.add_column(
            sa.Column("prev_key_enc", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
        )
        batch.add_column(
            sa.Column("prev_key_id", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )
        batch.add_column(
            sa.Column("prev_key_until", hub.models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("gate") as batch:
        batch.drop_column("prev_key_until")
        batch.drop_column("prev_key_id")
        batch.drop_column("prev_key_enc")
