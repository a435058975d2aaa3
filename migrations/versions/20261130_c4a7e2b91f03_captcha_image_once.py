"""Captcha: store the rendered picture with its challenge (one challenge, one image).

Revision ID: c4a7e2b91f03
Revises: 45721b17047d
Create Date: 2026-11-30 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'c4a7e2b91f03'
down_revision: str | Sequence[str] | None = '45721b17047d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('captcha_challenges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('captcha_challenges', schema=None) as batch_op:
        batch_op.drop_column('image')
