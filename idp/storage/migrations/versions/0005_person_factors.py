"""second factors held against the person: passkeys, and TOTP of people without a local account

``person_factors``: the TOTP factor (sealed secret, recovery codes) of a person who signs in through
the directory or an upstream, in the shape of ``accounts.extra``. ``passkeys``: every person's
WebAuthn credentials with their signature counters.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 23:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('person_factors',
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=255), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_person_factors_subject_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subject_id', name=op.f('pk_person_factors'))
    )
    op.create_table('passkeys',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('credential_id', sa.String(length=1400), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('sign_count', sa.BigInteger(), nullable=False),
    sa.Column('aaguid', sa.String(length=36), nullable=False),
    sa.Column('backed_up', sa.Boolean(), nullable=False),
    sa.Column('transports', sa.JSON(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_passkeys_subject_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passkeys')),
    sa.UniqueConstraint('credential_id', name=op.f('uq_passkeys_credential_id'))
    )
    with op.batch_alter_table('passkeys', schema=None) as batch_op:
        batch_op.create_index('ix_passkeys_subject_id', ['subject_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('passkeys', schema=None) as batch_op:
        batch_op.drop_index('ix_passkeys_subject_id')
    op.drop_table('passkeys')
    op.drop_table('person_factors')
