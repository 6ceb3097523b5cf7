"""The built-in ``local`` password adapter over the local accounts."""

from __future__ import annotations

import pytest

from adapters.base import AccountUnusable, InvalidCredentials, PasswordAdapter
from adapters.local.adapter import LocalPasswordAdapter
from idp.accounts.service import create_local_account
from idp.storage.models import Passkey
from idp.storage.sql import SqlStorage
from idp.storage.sql.factors import SqlFactorStore
from tests.unit.storage.test_sql_conformance import statements_sent

PASSWORD = "Đà Nẵng mùa hoa phượng đỏ"


@pytest.fixture
def adapter(storage: SqlStorage) -> LocalPasswordAdapter:
    create_local_account(storage, "lan.tran", PASSWORD, name="Trần Thị Lan", email="lan@danang.gov.vn")
    return LocalPasswordAdapter("local", storage, issuer="http://127.0.0.1:8000")


def test_right_password_gives_the_subject_of_the_account(adapter: LocalPasswordAdapter, storage: SqlStorage) -> None:
    _: PasswordAdapter = adapter
    identity = adapter.authenticate("Lan.Tran", PASSWORD)
    account = storage.accounts.get_by_username("lan.tran")
    assert account is not None
    assert identity.subject == account.subject_id
    assert identity.adapter_id == "local"
    assert identity.amr == ("pwd",)
    assert identity.claims["name"] == "Trần Thị Lan"
    assert identity.claims["preferred_username"] == "lan.tran"


def test_wrong_password_and_unknown_user_look_the_same(adapter: LocalPasswordAdapter) -> None:
    with pytest.raises(InvalidCredentials) as wrong:
        adapter.authenticate("lan.tran", "not the password at all")
    with pytest.raises(InvalidCredentials) as unknown:
        adapter.authenticate("nobody", PASSWORD)
    assert str(wrong.value) == str(unknown.value)


def test_disabled_account_is_reported_only_with_the_right_password(
    adapter: LocalPasswordAdapter, storage: SqlStorage
) -> None:
    account = storage.accounts.get_by_username("lan.tran")
    assert account is not None
    storage.accounts.update(account.id, lambda a: a.replace(disabled=True))
    with pytest.raises(AccountUnusable) as info:
        adapter.authenticate("lan.tran", PASSWORD)
    assert info.value.reason == "account_disabled"
    with pytest.raises(InvalidCredentials):
        adapter.authenticate("lan.tran", "not the password at all")


def test_the_identity_says_whether_a_second_factor_is_due(adapter: LocalPasswordAdapter, storage: SqlStorage) -> None:
    """The login flow asks for a TOTP code from this reading of the row just checked."""
    assert adapter.authenticate("lan.tran", PASSWORD).evidence["totp_enrolled"] is False
    account = storage.accounts.get_by_username("lan.tran")
    assert account is not None
    storage.accounts.update(account.id, lambda a: a.replace(extra={**a.extra, "totp_pending": {"secret": "x"}}))
    assert adapter.authenticate("lan.tran", PASSWORD).evidence["totp_enrolled"] is False  # not confirmed yet
    confirmed = {"secret": "x", "confirmed": True}
    storage.accounts.update(account.id, lambda a: a.replace(extra={**a.extra, "totp": confirmed}))
    assert adapter.authenticate("lan.tran", PASSWORD).evidence["totp_enrolled"] is True


def test_the_identity_says_whether_the_person_holds_a_passkey_from_the_same_lookup(
        adapter: LocalPasswordAdapter, storage: SqlStorage) -> None:
    """Read with the account (one statement): the sign-in needs no second read to know a passkey is due."""
    assert adapter.authenticate("lan.tran", PASSWORD).evidence["passkey_enrolled"] is False
    account = storage.accounts.get_by_username("lan.tran")
    assert account is not None and account.holds_passkey is False
    SqlFactorStore(storage.db).add_passkey(Passkey(id="pk1", subject_id=account.subject_id, credential_id="Y3JlZA",
                                                   public_key=b"\xa1", sign_count=0, aaguid="0" * 32,
                                                   backed_up=False, name="Khoá"))
    with statements_sent(storage) as sent:
        identity = adapter.authenticate("lan.tran", PASSWORD)
    assert identity.evidence["passkey_enrolled"] is True
    assert sent.statements == 1  # the account with its passkey flag (the password is right: no rehash)
