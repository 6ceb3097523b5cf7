"""account locks, durable

``account_locks``: the throttle's account locks (not its counters), so a short-lived store that
lost its data cannot unlock an account.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 23:55:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('account_locks',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_account_locks'))
    )
    op.create_index(op.f('ix_account_locks_until'), 'account_locks', ['until'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_account_locks_until'), table_name='account_locks')
    op.drop_table('account_locks')
