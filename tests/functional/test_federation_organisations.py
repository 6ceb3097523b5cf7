"""Organisation e-ID accounts through the national portal's sandbox: the organisation's
representative signs in with its account and the adapter yields the organisation (tax code,
organisation e-ID number, name), never the representative's personal ID number; linked, it is a
subject of its own, not the representative's. VNeID's sandbox has them too, yielded only when
the VNeID profile is configured for them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from adapters.base import OrganisationEntitlement, OrganisationEntitlements, UpstreamRejected
from adapters.oidc.adapter import OidcUpstreamAdapter
from idp.audit.sql import SqlAuditLog
from idp.identity.linking import link_identity
from idp.identity.protection import derive_identity_keys
from idp.sandbox import ORGANISATIONS, NationalSandbox
from idp.storage.sql import SqlStorage
from tests.unit.sandbox.support import (  # noqa: F401 - fixtures
    CALLBACK,
    browser_login,
    dvcqg_config,
    national,
    sandbox,
    sign_in,
    vneid_config,
)

KEYS = derive_identity_keys(b"demo-kek-for-tests-only-32bytes!")
SONG_HAN = ORGANISATIONS[0]  # represented by Nguyễn Văn An (049085001234)


@pytest.fixture
def portal(national: NationalSandbox) -> Iterator[OidcUpstreamAdapter]:  # noqa: F811
    adapter = OidcUpstreamAdapter(dvcqg_config(national))
    yield adapter
    adapter.close()


def test_an_organisation_account_yields_the_organisation(portal: OidcUpstreamAdapter) -> None:
    callback, pending = sign_in(portal, SONG_HAN.account)
    identity = portal.complete(CALLBACK, callback, pending)
    assert identity.claims == {
        "vn_account_type": "organization", "vn_org_tax_code": "0401234567", "vn_org_eid": "TC0401234567",
        "vn_org_name": "Công ty TNHH Thương mại Sông Hàn", "name": "Công ty TNHH Thương mại Sông Hàn",
        "vn_login_idp": "vneid", "vn_eid_level": 1,
    }
    assert SONG_HAN.representative not in str(identity.claims)
    assert {"vn_org_tax_code", "vn_org_eid", "vn_org_name"} <= portal.config.produces().claims


def test_the_organisation_is_its_own_subject_not_its_representatives(portal: OidcUpstreamAdapter,
                                                                     storage: SqlStorage) -> None:
    audit = SqlAuditLog(storage.db)
    linked = []
    for account in (SONG_HAN.account, SONG_HAN.representative):
        callback, pending = sign_in(portal, account)
        linked.append(link_identity(storage, portal.complete(CALLBACK, callback, pending),
                                    hash_key=KEYS.hash_key, enc_key=KEYS.enc_key, audit=audit))
    organisation, person = linked
    assert organisation.id != person.id and organisation.personal_id_hash is None
    assert organisation.claims["vn_org_tax_code"] == "0401234567" and "vn_org_tax_code" not in person.claims
    assert person.personal_id_hash is not None


def test_vneid_yields_the_organisation_only_when_configured(national: NationalSandbox,  # noqa: F811
                                                           portal: OidcUpstreamAdapter) -> None:
    configured = OidcUpstreamAdapter(vneid_config(national, account_types={"organization": "organization"}))
    unconfigured = OidcUpstreamAdapter(vneid_config(national))
    try:
        callback, pending = sign_in(configured, SONG_HAN.account)
        through_vneid = configured.complete(CALLBACK, callback, pending).claims
        callback, pending = sign_in(portal, SONG_HAN.account)
        through_portal = portal.complete(CALLBACK, callback, pending).claims
        assert through_vneid == {k: v for k, v in through_portal.items() if k != "vn_eid_level"} | {
            "vn_org_representative": "Nguyễn Văn An"}  # no acr_map; VNeID's sandbox names the representative
        assert {"vn_org_tax_code", "vn_org_eid", "vn_org_name"} <= configured.config.produces().claims
        assert not {"vn_org_tax_code", "vn_org_eid", "vn_org_name"} & unconfigured.config.produces().claims
        callback, pending = sign_in(unconfigured, SONG_HAN.account)
        with pytest.raises(UpstreamRejected):  # its e-ID number is no personal ID number
            unconfigured.complete(CALLBACK, callback, pending)
    finally:
        configured.close()
        unconfigured.close()


def test_the_portal_says_which_organisations_a_person_may_act_for(portal: OidcUpstreamAdapter) -> None:
    hoa_vang = ORGANISATIONS[1]
    callback, pending = sign_in(portal, "048193004567")  # an employee of both sandbox organisations
    employee = portal.complete(CALLBACK, callback, pending)
    assert isinstance(portal, OrganisationEntitlements)
    assert portal.entitlements(employee) == (
        OrganisationEntitlement(SONG_HAN.tax_code, SONG_HAN.name, SONG_HAN.org_eid, "employee"),
        OrganisationEntitlement(hoa_vang.tax_code, hoa_vang.name, hoa_vang.org_eid, "employee"))
    assert "vn_org_tax_code" not in employee.claims  # a person, signed in as themselves
    callback, pending = sign_in(portal, hoa_vang.representative)
    assert portal.entitlements(portal.complete(CALLBACK, callback, pending)) == (
        OrganisationEntitlement(hoa_vang.tax_code, hoa_vang.name, hoa_vang.org_eid, "representative"),)
    callback, pending = sign_in(portal, SONG_HAN.account)  # the organisation's own account acts for no one
    organisation = portal.complete(CALLBACK, callback, pending)
    assert portal.entitlements(organisation) == ()
    assert portal.entitlements(dataclasses.replace(employee, adapter_id="another")) == ()


def test_only_listed_entries_with_a_known_role_are_entitlements(national: NationalSandbox) -> None:  # noqa: F811
    config = dvcqg_config(national)
    entry = {"MaSoThue": "0401234567", "MaDinhDanhToChuc": "TC0401234567", "TenToChuc": "Sông Hàn"}
    listed = [entry | {"VaiTro": "KhachHang"}, {"MaSoThue": "0409876543", "VaiTro": "NhanVien"}, "0401234567",
              entry | {"VaiTro": "NhanVien"}, entry | {"VaiTro": "NguoiDaiDien"}]
    assert config.organisation_entitlements({"LoaiTaiKhoan": "1", "DanhSachToChuc": listed}) == [
        {"tax_code": "0401234567", "org_eid": "TC0401234567", "name": "Sông Hàn", "role": "employee"}]
    assert config.organisation_entitlements({"LoaiTaiKhoan": "2", "DanhSachToChuc": listed}) == []
    assert config.model_copy(update={"entitlement_list": None}).organisation_entitlements(
        {"LoaiTaiKhoan": "1", "DanhSachToChuc": listed}) == []
