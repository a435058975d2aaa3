"""Billing registry and contract bindings; login throttles and one-time passwords.

Revision ID: 45721b17047d
Revises: e89fac48bb8a
Create Date: 2026-11-27 21:39:35.075533
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '45721b17047d'
down_revision: str | Sequence[str] | None = 'e89fac48bb8a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('binding_attempt_counters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_kind', sa.String(length=16), nullable=False),
    sa.Column('subject_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_binding_attempt_counters')),
    sa.UniqueConstraint('subject_kind', 'subject_key', name='uq_binding_attempt_subject')
    )
    op.create_table('binding_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('contract_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_binding_events'))
    )
    with op.batch_alter_table('binding_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_binding_events_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_binding_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_binding_events_contract_number'), ['contract_number'], unique=False)

    op.create_table('contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('customer_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('inn', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('kpp', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('binding_code_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('code_issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts')),
    sa.UniqueConstraint('number', name=op.f('uq_contracts_number'))
    )
    op.create_table('login_throttles',
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key_hash', name=op.f('pk_login_throttles'))
    )
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttles_last_failure_at'), ['last_failure_at'], unique=False)

    op.create_table('binding_requests',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('contract_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('inn', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('kpp', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=True),
    sa.Column('code_sealed', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_binding_requests_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_binding_requests'))
    )
    with op.batch_alter_table('binding_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_binding_requests_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_binding_requests_expires_at'), ['expires_at'], unique=False)

    op.create_table('contract_bindings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('bound_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_contract_bindings_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_bindings')),
    sa.UniqueConstraint('contract_number', name=op.f('uq_contract_bindings_contract_number'))
    )
    with op.batch_alter_table('contract_bindings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_bindings_account_id'), ['account_id'], unique=False)

    op.create_table('metering_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('voltage_level', sa.String(length=8), nullable=False),
    sa.Column('tariff', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_metering_points_contract_id_contracts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metering_points')),
    sa.UniqueConstraint('external_id', name=op.f('uq_metering_points_external_id'))
    )
    with op.batch_alter_table('metering_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metering_points_contract_id'), ['contract_id'], unique=False)

    op.create_table('meters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('metering_point_id', sa.Integer(), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('next_verification_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['metering_point_id'], ['metering_points.id'], name=op.f('fk_meters_metering_point_id_metering_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meters')),
    sa.UniqueConstraint('serial_number', name=op.f('uq_meters_serial_number'))
    )
    with op.batch_alter_table('meters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meters_metering_point_id'), ['metering_point_id'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('otp_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('otp_expires_at', sa.DateTime(timezone=True), nullable=True))
        # Existing accounts never need a forced change: default false.
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('otp_expires_at')
        batch_op.drop_column('otp_hash')

    with op.batch_alter_table('meters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meters_metering_point_id'))

    op.drop_table('meters')
    with op.batch_alter_table('metering_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metering_points_contract_id'))

    op.drop_table('metering_points')
    with op.batch_alter_table('contract_bindings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_bindings_account_id'))

    op.drop_table('contract_bindings')
    with op.batch_alter_table('binding_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_binding_requests_expires_at'))
        batch_op.drop_index(batch_op.f('ix_binding_requests_account_id'))

    op.drop_table('binding_requests')
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttles_last_failure_at'))

    op.drop_table('login_throttles')
    op.drop_table('contracts')
    with op.batch_alter_table('binding_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_binding_events_contract_number'))
        batch_op.drop_index(batch_op.f('ix_binding_events_at'))
        batch_op.drop_index(batch_op.f('ix_binding_events_account_id'))

    op.drop_table('binding_events')
    op.drop_table('binding_attempt_counters')
