"""which source owns each of a person's claims

``subjects.sources``: ``{adapter id: {"claims": [names], "checked_at": 0}}``. A sign-in replaces
the claims its source owns (a removed role disappears), so the claims stored before need an owner:
each goes to the first linked source (by link creation) whose last sign-in reported it, else to the
person's first link (the source that created the person). Local accounts have no links and no
sources. ``checked_at`` 0: a directory account is checked again at its next refresh.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 20:40:00
"""
from collections import defaultdict
from typing import Any, Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_subjects = sa.table('subjects', sa.column('id', sa.String), sa.column('claims', sa.JSON),
                     sa.column('sources', sa.JSON))
_links = sa.table('identity_links', sa.column('subject_id', sa.String), sa.column('adapter', sa.String),
                  sa.column('claims', sa.JSON), sa.column('created_at', sa.DateTime(timezone=True)))


def owners(claims: dict[str, Any], links: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The sources of a subject's ``claims`` from its links (adapter, claims) in creation order."""
    sources: dict[str, Any] = {adapter: {"claims": [], "checked_at": 0} for adapter, _ in links}
    for name in sorted(claims):
        owner = next((adapter for adapter, reported in links if name in reported), links[0][0])
        sources[owner]["claims"].append(name)
    return sources


def upgrade() -> None:
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sources', sa.JSON(), nullable=False, server_default='{}'))
    conn = op.get_bind()
    links: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for row in conn.execute(sa.select(_links).order_by(_links.c.created_at)).mappings():
        links[row['subject_id']].append((row['adapter'], dict(row['claims'] or {})))
    for row in conn.execute(sa.select(_subjects.c.id, _subjects.c.claims)).mappings():
        if links.get(row['id']):
            conn.execute(_subjects.update().where(_subjects.c.id == row['id'])
                         .values(sources=owners(dict(row['claims'] or {}), links[row['id']])))


def downgrade() -> None:
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.drop_column('sources')
