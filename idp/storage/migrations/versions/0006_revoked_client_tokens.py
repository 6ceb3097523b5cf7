"""revoked self-contained client access tokens, durable

``revoked_client_tokens``: the deny list of a client's own (client_credentials) access tokens,
which no record in Redis vouches for: a revocation must outlive a Redis restart that lost its data.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 23:40:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('revoked_client_tokens',
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_revoked_client_tokens'))
    )
    op.create_index(op.f('ix_revoked_client_tokens_expires_at'), 'revoked_client_tokens', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_revoked_client_tokens_expires_at'), table_name='revoked_client_tokens')
    op.drop_table('revoked_client_tokens')
