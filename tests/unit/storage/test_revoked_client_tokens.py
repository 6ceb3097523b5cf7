"""The durable deny list of self-contained client access tokens: a revocation is kept until the
token would have expired (again: harmless), and expired entries go."""

from __future__ import annotations

from datetime import timedelta

from idp.storage.models import utcnow
from idp.storage.sql import SqlStorage
from idp.storage.sql.revoked_tokens import SqlRevokedClientTokens


def test_revocation_is_kept_until_expiry(storage: SqlStorage) -> None:
    denied = SqlRevokedClientTokens(storage.db)
    assert not denied.is_revoked("cc.abc")
    denied.revoke("cc.abc", "m2m", utcnow() + timedelta(minutes=5))
    denied.revoke("cc.abc", "m2m", utcnow() + timedelta(minutes=5))  # a second revocation changes nothing
    assert denied.is_revoked("cc.abc") and not denied.is_revoked("cc.other")
    denied.revoke("cc.old", "m2m", utcnow() - timedelta(seconds=1))
    denied.revoke("cc.new", "m2m", utcnow() + timedelta(minutes=5))  # prunes what has expired
    assert not denied.is_revoked("cc.old") and denied.is_revoked("cc.abc")
