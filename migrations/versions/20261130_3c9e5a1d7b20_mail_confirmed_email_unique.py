"""E-mail ownership: the address is unique among confirmed accounts only; IDN domains keyed as punycode.

Pending sign-ups may now share an address (the first to confirm it wins), so the
plain unique constraint on ``email_key`` becomes a partial unique index over active
accounts plus an ordinary index for look-ups. Existing keys with an internationalised
domain are rewritten to the new form (lower-case local part @ punycode domain).

Revision ID: 3c9e5a1d7b20
Revises: c4a7e2b91f03
Create Date: 2026-11-30 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '3c9e5a1d7b20'
down_revision: str | Sequence[str] | None = 'c4a7e2b91f03'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE_ONLY = sa.text("status = 'active'")


def upgrade() -> None:
    _rekey_idn_domains()
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_accounts_email_key'), type_='unique')
        batch_op.create_index(batch_op.f('ix_accounts_email_key'), ['email_key'], unique=False)
        batch_op.create_index(
            'uq_accounts_email_key_active', ['email_key'], unique=True,
            sqlite_where=ACTIVE_ONLY, postgresql_where=ACTIVE_ONLY,
        )


def downgrade() -> None:
    # Pending duplicates of an address cannot survive the old constraint: drop them.
    op.execute(
        "DELETE FROM accounts WHERE status <> 'active' AND email_key IN "
        "(SELECT email_key FROM accounts GROUP BY email_key HAVING COUNT(*) > 1)"
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('uq_accounts_email_key_active')
        batch_op.drop_index(batch_op.f('ix_accounts_email_key'))
        batch_op.create_unique_constraint(batch_op.f('uq_accounts_email_key'), ['email_key'])


def _rekey_idn_domains() -> None:
    from lkk.validation import email_key  # the one definition of the key

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, email FROM accounts")).all()
    for account_id, email in rows:
        if not email.isascii():
            bind.execute(
                sa.text("UPDATE accounts SET email_key = :key WHERE id = :id"), {"key": email_key(email), "id": account_id}
            )
