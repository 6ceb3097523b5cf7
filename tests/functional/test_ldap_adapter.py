"""The LDAP/AD adapter against a real OpenLDAP slapd (started here; see tests/data/ldap/slapd.py):
officials sign in with claims and roles from the directory; wrong passwords, disabled and expired
accounts, injection attempts and an unreachable directory each give their own outcome."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.base import (
    AccountGone,
    AccountLookup,
    AccountNames,
    AccountUnusable,
    InvalidCredentials,
    PasswordAdapter,
    SourceUnavailable,
)
from adapters.ldap.adapter import LdapAdapter
from adapters.ldap.config import LdapConfig
from tests.data.ldap.slapd import (
    BASE_DN,
    OFFICIAL_PASSWORD,
    SERVICE_DN,
    SERVICE_PASSWORD,
    SlapdServer,
)


def make_adapter(slapd: SlapdServer, **overrides: Any) -> LdapAdapter:
    settings: dict[str, Any] = {
        "id": "officials",
        "type": "ldap",
        "urls": [slapd.ldaps_url],
        "ca_file": str(slapd.ca_file),
        "bind_dn": SERVICE_DN,
        "bind_password": SERVICE_PASSWORD,
        "user_base_dn": f"ou=people,{BASE_DN}",
        "group_base_dn": f"ou=groups,{BASE_DN}",
        "claims": {"name": "cn", "family_name": "sn", "given_name": "givenName", "email": "mail",
                   "vn_unit": "ou", "vn_agency_code": "departmentNumber"},
        "roles": {"lanh-dao": "leader", "mot-cua": "one-stop-clerk"},
        "connect_timeout": 1.0,
        "receive_timeout": 2,
    }
    settings.update(overrides)
    return LdapAdapter(LdapConfig.model_validate(settings))


@pytest.fixture
def officials(slapd: SlapdServer) -> Iterator[LdapAdapter]:
    adapter = make_adapter(slapd)
    yield adapter
    adapter.close()


def test_official_signs_in_with_claims_and_roles_from_the_directory(officials: LdapAdapter) -> None:
    _: PasswordAdapter = officials
    identity = officials.authenticate("an.nguyen", OFFICIAL_PASSWORD)
    assert identity.adapter_id == "officials"
    assert identity.amr == ("pwd",)
    assert len(identity.subject) == 36  # entryUUID, stable across renames
    assert identity.claims == {
        "name": "Nguyễn Văn An",
        "family_name": "Nguyễn",
        "given_name": "An",
        "email": "an.nguyen@danang.gov.vn",
        "vn_unit": "Sở Nội vụ",
        "vn_agency_code": "000.00.12.H17",
        "preferred_username": "an.nguyen",
    }
    assert identity.roles == ("leader", "one-stop-clerk")
    # a group without a mapping (van-thu) gives no role
    assert officials.authenticate("binh.tran", OFFICIAL_PASSWORD).roles == ("one-stop-clerk",)


def test_the_same_official_gets_the_same_subject_every_time(officials: LdapAdapter) -> None:
    first = officials.authenticate("an.nguyen", OFFICIAL_PASSWORD)
    second = officials.authenticate("  AN.NGUYEN ", OFFICIAL_PASSWORD)
    assert first.subject == second.subject


def test_wrong_password_and_unknown_user_are_the_same_outcome(officials: LdapAdapter) -> None:
    with pytest.raises(InvalidCredentials) as wrong:
        officials.authenticate("an.nguyen", "Mat-khau-sai")
    with pytest.raises(InvalidCredentials) as unknown:
        officials.authenticate("khong.ton.tai", OFFICIAL_PASSWORD)
    assert str(wrong.value) == str(unknown.value)


def test_empty_password_is_not_an_unauthenticated_bind(officials: LdapAdapter) -> None:
    with pytest.raises(InvalidCredentials):
        officials.authenticate("an.nguyen", "")


def test_disabled_account_is_reported_as_disabled(officials: LdapAdapter) -> None:
    with pytest.raises(AccountUnusable) as info:
        officials.authenticate("cuong.le", OFFICIAL_PASSWORD)
    assert info.value.reason == "account_disabled"


def test_expired_password_is_reported_as_expired(officials: LdapAdapter) -> None:
    with pytest.raises(AccountUnusable) as info:
        officials.authenticate("dung.pham", OFFICIAL_PASSWORD)
    assert info.value.reason == "password_expired"


@pytest.mark.parametrize("username", ["*)(uid=*", "an.nguye*", "*", "an.nguyen)(|(uid=*", "an.nguyen\\2a", "(uid=*)"])
def test_injection_cannot_widen_the_search(officials: LdapAdapter, username: str) -> None:
    # "an.nguye*" with An's right password would sign An in if the filter were not escaped
    with pytest.raises(InvalidCredentials):
        officials.authenticate(username, OFFICIAL_PASSWORD)


def test_starttls_on_plain_port_with_ca_verification(slapd: SlapdServer) -> None:
    adapter = make_adapter(slapd, urls=[slapd.ldap_url], start_tls=True)
    try:
        assert adapter.authenticate("binh.tran", OFFICIAL_PASSWORD).claims["name"] == "Trần Thị Bình"
    finally:
        adapter.close()


def test_server_certificate_from_another_ca_is_refused(slapd: SlapdServer, tmp_path: Path) -> None:
    from tests.data.ldap.slapd import write_test_pki

    other_ca, _, _ = write_test_pki(tmp_path)
    adapter = make_adapter(slapd, ca_file=str(other_ca))
    try:
        with pytest.raises(SourceUnavailable):
            adapter.authenticate("an.nguyen", OFFICIAL_PASSWORD)
    finally:
        adapter.close()


def test_wrong_service_password_is_source_unavailable_not_a_user_error(slapd: SlapdServer) -> None:
    adapter = make_adapter(slapd, bind_password="wrong")
    try:
        with pytest.raises(SourceUnavailable):
            adapter.authenticate("an.nguyen", OFFICIAL_PASSWORD)
    finally:
        adapter.close()


def test_pooled_connections_are_reused(officials: LdapAdapter) -> None:
    for _ in range(3):
        officials.authenticate("an.nguyen", OFFICIAL_PASSWORD)
    assert officials.connections._idle.qsize() == 1


def test_active_directory_entries(slapd: SlapdServer) -> None:
    adapter = make_adapter(
        slapd, directory="active_directory", user_base_dn=f"ou=ad,{BASE_DN}", group_base_dn=None,
        claims={"name": "displayName", "email": "mail"}, roles={"mot-cua": "one-stop-clerk"},
    )
    try:
        by_sam = adapter.authenticate("em.hoang", OFFICIAL_PASSWORD)
        by_upn = adapter.authenticate("em.hoang@danang.gov.vn", OFFICIAL_PASSWORD)
        assert by_sam.subject == by_upn.subject == "6f1c2a7e-3b4d-4e5f-9a0b-1c2d3e4f5a6b"  # objectGUID
        assert by_sam.claims["name"] == "Hoàng Văn Em"
        assert by_sam.claims["preferred_username"] == "em.hoang"
        assert by_sam.roles == ("one-stop-clerk",)  # from memberOf
        with pytest.raises(AccountUnusable) as disabled:
            adapter.authenticate("giang.vo", OFFICIAL_PASSWORD)
        assert disabled.value.reason == "account_disabled"
        with pytest.raises(AccountUnusable) as expired:
            adapter.authenticate("hai.do", OFFICIAL_PASSWORD)
        assert expired.value.reason == "password_expired"
        with pytest.raises(InvalidCredentials):
            adapter.authenticate("giang.vo", "Mat-khau-sai")  # disabled is never told without the password
    finally:
        adapter.close()


def test_frozen_directory_times_out_as_source_unavailable(slapd: SlapdServer) -> None:
    adapter = make_adapter(slapd, urls=[slapd.ldap_url], receive_timeout=1)
    adapter.authenticate("an.nguyen", OFFICIAL_PASSWORD)  # a pooled connection exists
    slapd.pause()
    try:
        started = time.monotonic()
        with pytest.raises(SourceUnavailable):
            adapter.authenticate("an.nguyen", OFFICIAL_PASSWORD)
        assert time.monotonic() - started < 6
    finally:
        slapd.resume()
        adapter.close()


def test_stopped_directory_is_source_unavailable_quickly(slapd: SlapdServer) -> None:
    adapter = make_adapter(slapd)
    adapter.authenticate("an.nguyen", OFFICIAL_PASSWORD)
    slapd.stop()
    try:
        started = time.monotonic()
        with pytest.raises(SourceUnavailable):
            adapter.authenticate("an.nguyen", OFFICIAL_PASSWORD)
        assert time.monotonic() - started < 3
    finally:
        slapd.start()
        adapter.close()
    restarted = make_adapter(slapd)
    try:
        assert restarted.authenticate("an.nguyen", OFFICIAL_PASSWORD).subject
    finally:
        restarted.close()


def test_unknown_user_costs_the_directory_what_a_wrong_password_costs(slapd: SlapdServer,
                                                                     officials: LdapAdapter) -> None:
    """A bind for an unknown username too (against a DN that cannot exist), so the directory's
    work, and the time it takes, does not tell which usernames exist."""
    officials.authenticate("an.nguyen", OFFICIAL_PASSWORD)  # a pooled service connection exists
    admin = slapd.admin()
    try:
        def operations_of(username: str) -> dict[str, int]:
            before = slapd.completed_operations(admin)
            with pytest.raises(InvalidCredentials):
                officials.authenticate(username, "Mat-khau-sai")
            after = slapd.completed_operations(admin)
            return {kind: after[kind] - before[kind] for kind in ("bind", "search")}

        known = operations_of("an.nguyen")
        unknown = operations_of("khong.ton.tai")
    finally:
        admin.unbind()
    assert known["bind"] == 1  # the user's own bind
    assert unknown == known  # the same search and one bind, for a DN that does not exist


def test_an_account_is_looked_up_again_without_its_password(slapd: SlapdServer, officials: LdapAdapter) -> None:
    _: AccountLookup = officials
    signed_in = officials.authenticate("an.nguyen", OFFICIAL_PASSWORD)
    again = officials.lookup(signed_in.subject)
    assert (again.subject, again.claims, again.roles) == (signed_in.subject, signed_in.claims, signed_in.roles)
    with pytest.raises(AccountGone):
        officials.lookup("00000000-0000-4000-8000-000000000000")
    with pytest.raises(AccountGone):
        officials.lookup("*")  # escaped: never a wildcard
    ad = make_adapter(slapd, directory="active_directory", user_base_dn=f"ou=ad,{BASE_DN}", group_base_dn=None,
                      claims={"name": "displayName"}, roles={"mot-cua": "one-stop-clerk"})
    try:
        found = ad.lookup("6f1c2a7e-3b4d-4e5f-9a0b-1c2d3e4f5a6b")  # objectGUID, compared as its 16 bytes
        assert found.claims["preferred_username"] == "em.hoang" and found.roles == ("one-stop-clerk",)
        with pytest.raises(AccountUnusable) as info:  # giang.vo: userAccountControl says disabled
            ad.lookup("7a2b3c4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d")
        assert info.value.reason == "account_disabled"
    finally:
        ad.close()


def test_every_name_of_an_account_resolves_to_one(slapd: SlapdServer) -> None:
    ad = make_adapter(slapd, directory="active_directory", user_base_dn=f"ou=ad,{BASE_DN}", group_base_dn=None,
                      claims={"name": "displayName"})
    try:
        _: AccountNames = ad
        names = {ad.account_name(n) for n in ("em.hoang", "EM.HOANG", " em.hoang@DANANG.gov.vn ")}
        assert names == {"em.hoang"}
        assert ad.account_name("khong.ton.tai") is None and ad.account_name("*") is None
    finally:
        ad.close()
