"""The national portal's names are written from released claims only, in the portal's own form."""

from __future__ import annotations

from idp.oidc.portal_claims import PORTAL_NAMES, claim_names_profile, with_portal_names
from policies.claims import CLAIM_SCOPE

PORTAL = {"claim_names": "dvcqg"}


def test_only_what_was_released_gets_a_portal_name() -> None:
    assert with_portal_names({"name": "Lê Minh Khôi", "email": "khoi@example.vn"}, PORTAL) == {
        "name": "Lê Minh Khôi", "email": "khoi@example.vn", "HoVaTen": "Lê Minh Khôi"}
    assert with_portal_names({}, PORTAL) == {}


def test_values_in_the_portal_form() -> None:
    released = {"birthdate": "2001-07-30", "vn_account_type": "organization", "vn_login_idp": "vneid",
                "vn_personal_id": "049201000789"}
    assert with_portal_names(released, PORTAL) == {**released, "NgayThangNamSinh": "20010730",
                                                        "LoaiTaiKhoan": "2", "loginIdp": "BCA",
                                                        "SoDinhDanh": "049201000789"}
    odd = with_portal_names({"birthdate": "2001", "vn_account_type": "hộ kinh doanh"}, PORTAL)
    assert "NgayThangNamSinh" not in odd and odd["LoaiTaiKhoan"] == "hộ kinh doanh"  # unknown: unchanged


def test_other_clients_get_the_standard_names_only() -> None:
    assert claim_names_profile({}) == "standard" and claim_names_profile({"claim_names": "other"}) == "standard"
    assert with_portal_names({"name": "An"}, {}) == {"name": "An"}


def test_every_source_claim_is_governed_by_a_scope() -> None:
    assert set(PORTAL_NAMES) <= set(CLAIM_SCOPE)  # so release rules (scope, policy, consent) apply to each
