"""Degrade without Temporal: recovery requests and "password changed" notices parked
while Temporal is unreachable (started by the API when it answers again).

Revision ID: 8d2f6b4a1c57
Revises: 3c9e5a1d7b20
Create Date: 2026-11-30 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '8d2f6b4a1c57'
down_revision: str | Sequence[str] | None = '3c9e5a1d7b20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'parked_password_resets',
        sa.Column('account_id', sa.String(length=32), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'], name=op.f('fk_parked_password_resets_account_id_accounts'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('account_id', name=op.f('pk_parked_password_resets')),
    )
    op.create_table(
        'parked_password_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('nonce', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'], name=op.f('fk_parked_password_notices_account_id_accounts'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_parked_password_notices')),
    )
    op.create_index(op.f('ix_parked_password_notices_account_id'), 'parked_password_notices', ['account_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_parked_password_notices_account_id'), table_name='parked_password_notices')
    op.drop_table('parked_password_notices')
    op.drop_table('parked_password_resets')
