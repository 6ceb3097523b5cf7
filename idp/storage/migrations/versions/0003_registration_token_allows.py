"""what an initial access token allows beyond plain registration

``allows``: space-separated grants the administrator gave the token with ``idp registration token``
(``subject_type:public``, ``scope:<restricted scope>``); empty for tokens issued before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 20:20:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('registration_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allows', sa.String(length=1024), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('registration_tokens', schema=None) as batch_op:
        batch_op.drop_column('allows')
