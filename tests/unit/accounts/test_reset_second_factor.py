"""An administrator's reset of two-step verification takes every factor of the account's person:
the TOTP secret, the recovery codes and the passkeys (which would otherwise still sign in)."""

from __future__ import annotations

from idp.accounts.administration import AccountAdministration
from idp.accounts.service import create_local_account
from idp.storage.models import Passkey
from idp.storage.sql import SqlStorage
from idp.storage.sql.factors import SqlFactorStore
from tests.fakes import RecordingAudit


def test_reset_removes_totp_recovery_codes_and_passkeys(storage: SqlStorage) -> None:
    account = create_local_account(storage, "hoa.le", "Núi Ngũ Hành Sơn buổi sớm", name="Lê Thị Hoa")
    storage.accounts.update(account.id, lambda a: a.replace(
        extra={**a.extra, "totp": {"secret": "sealed", "confirmed": True, "recovery": ["h1"]},
               "recovery": {"codes": ["h2"]}, "roles": ["auditor"]}, has_second_factor=True))
    factors = SqlFactorStore(storage.db)
    for n in (1, 2):
        factors.add_passkey(Passkey(id=f"p{n}", subject_id=account.subject_id, credential_id=f"cred-{n}",
                                    public_key=b"cose", sign_count=0, aaguid="00000000-0000-0000-0000-000000000000",
                                    backed_up=False, name=f"Khoá {n}"))
    audit = RecordingAudit()
    change = AccountAdministration(storage, audit=audit).reset_second_factor("hoa.le", actor="cli:an")
    assert not change.after.has_second_factor
    assert set(change.after.extra) == {"roles"}  # the role stays; every factor goes
    assert factors.passkeys_of(account.subject_id) == []
    (event,) = audit.events
    assert event.type == "mfa.totp.removed" and event.details["passkeys_removed"] == 2
    assert event.details["actor"] == "cli:an" and "sealed" not in str(event.details)
