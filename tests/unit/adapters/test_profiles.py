"""Adapter configuration and the national profiles' claim normalisation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from joserfc.jwk import RSAKey
from pydantic import ValidationError

from adapters.base import RedirectAdapter, UpstreamRejected
from adapters.config import AdapterContext
from adapters.dvcqg.config import DvcqgConfig
from adapters.oidc.adapter import OidcUpstreamAdapter
from adapters.oidc.config import OidcConfig
from adapters.vneid.config import VneidConfig
from idp.settings import Settings

GENERIC: dict[str, Any] = {
    "id": "upstream", "type": "oidc", "issuer": "https://op.example.test", "client_id": "c", "client_secret": "s",
}  # fmt: skip


def dvcqg(**changes: Any) -> DvcqgConfig:
    return DvcqgConfig(id="dvcqg", type="dvcqg", base_url="https://xacthuc.example.test", client_id="c",
                       client_secret="s", **changes)  # fmt: skip


def vneid(**changes: Any) -> VneidConfig:
    return VneidConfig(id="vneid", type="vneid", base_url="https://sso.example.test/auth", client_id="c",
                       client_secret="s", **changes)  # fmt: skip


@pytest.mark.parametrize("alg", ["none", "HS256", "HS512", "RSA-OAEP"])
def test_only_asymmetric_id_token_algorithms_can_be_configured(alg: str) -> None:
    with pytest.raises(ValidationError, match="only asymmetric"):
        OidcConfig(**GENERIC, id_token_algs=("RS256", alg))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"issuer": "http://op.example.test"}, "https"),
        ({"client_secret": None}, "needs client_secret"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "needs private_jwk"),
        ({"scopes": ("profile",)}, "openid"),
        ({"discovery": False}, "required when discovery is off"),
        ({"default_acr": "LoA1"}, "unknown acr"),
        ({"acr_map": {"1": "vneid-l9"}}, "unknown acr"),
        ({"surprise": 1}, "Extra inputs"),
    ],
)
def test_bad_configuration_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OidcConfig(**{**GENERIC, **changes})


def test_private_key_jwt_accepts_a_private_jwk_and_never_prints_it() -> None:
    jwk = json.dumps(RSAKey.generate_key(2048).as_dict(private=True))
    config = OidcConfig(**{**GENERIC, "client_secret": None}, token_endpoint_auth_method="private_key_jwt",
                        private_jwk=jwk)  # fmt: skip
    assert jwk not in repr(config) and '"d"' not in str(config)
    with pytest.raises(ValidationError, match="private RSA or EC JWK"):
        OidcConfig(**GENERIC, private_jwk=json.dumps(RSAKey.generate_key(2048).as_dict(private=False)))


def test_vneid_endpoints_follow_the_keycloak_realm_layout() -> None:
    config = vneid()
    realm = "https://sso.example.test/auth/realms/citizen"
    assert config.issuer == realm
    assert config.authorization_endpoint == realm + "/protocol/openid-connect/auth"
    assert config.jwks_uri == realm + "/protocol/openid-connect/certs"
    assert config.end_session_endpoint == realm + "/protocol/openid-connect/logout"
    assert config.acr_map == {} and config.default_acr == "local-basic"  # Keycloak's "1" is not level 1


def test_dvcqg_endpoints_follow_the_wso2_layout_and_ask_for_loa1() -> None:
    config = dvcqg()
    assert config.issuer == "https://xacthuc.example.test/oauth2/token"
    assert config.authorization_endpoint == "https://xacthuc.example.test/oauth2/authorize"
    assert config.userinfo_endpoint == "https://xacthuc.example.test/oauth2/userinfo"
    assert config.authorize_params == {"acr_values": "LoA1"}
    assert config.acr_map["LoA1"] == "vneid-l1"
    assert config.max_acr == "vneid-l2"


def test_dvcqg_vietnamese_userinfo_is_normalised() -> None:
    claims = dvcqg().normalise_claims(
        {"TechID": "t-1", "LoaiTaiKhoan": "1", "HoVaTen": "Phạm Thị Hồng Nhung", "SoDinhDanh": "046186012345",
         "NgayThangNamSinh": "19860105", "loginIdp": "BCA"}
    )  # fmt: skip
    assert claims == {
        "vn_personal_id": "046186012345",
        "name": "Phạm Thị Hồng Nhung",
        "family_name": "Phạm",
        "middle_name": "Thị Hồng",
        "given_name": "Nhung",
        "birthdate": "1986-01-05",
        "vn_account_type": "citizen",
        "vn_login_idp": "vneid",
    }


def test_dvcqg_drops_an_impossible_birthdate_and_keeps_unknown_codes() -> None:
    claims = dvcqg().normalise_claims(
        {"SoDinhDanh": "046186012345", "NgayThangNamSinh": "19860231", "LoaiTaiKhoan": "9", "loginIdp": "XYZ"}
    )
    assert "birthdate" not in claims
    assert claims["vn_account_type"] == "9" and claims["vn_login_idp"] == "XYZ"


def test_vneid_personal_id_comes_from_preferred_username_which_is_then_dropped() -> None:
    claims = vneid().normalise_claims(
        {"preferred_username": "049085001234", "name": "Nguyễn Văn An", "given_name": "Văn An", "family_name": "Nguyễn"}
    )
    assert claims["vn_personal_id"] == "049085001234"
    assert "preferred_username" not in claims
    assert (claims["family_name"], claims["middle_name"], claims["given_name"]) == ("Nguyễn", "Văn", "An")


@pytest.mark.parametrize("profile", [vneid, dvcqg])
@pytest.mark.parametrize(("value", "reason"), [(None, "missing_personal_id"), ("12345", "invalid_personal_id")])
def test_a_national_identity_without_a_valid_personal_id_is_refused(profile: Any, value: Any, reason: str) -> None:
    upstream = {"preferred_username": value, "SoDinhDanh": value, "name": "Lê Minh Khôi"}
    with pytest.raises(UpstreamRejected) as caught:
        profile().normalise_claims({k: v for k, v in upstream.items() if v is not None})
    assert caught.value.reason == reason


def test_a_generic_upstream_cannot_assert_vietnamese_claims_unless_mapped() -> None:
    upstream = {"name": "An", "vn_personal_id": "049085001234", "vn_eid_level": "2", "cccd": "049085001234"}
    assert OidcConfig(**GENERIC).normalise_claims(upstream) == {"name": "An"}
    mapped = OidcConfig(**GENERIC, claim_map={"cccd": "vn_personal_id"}).normalise_claims(upstream)
    assert mapped == {"name": "An", "vn_personal_id": "049085001234"}


def test_the_opened_adapter_is_a_redirect_adapter(tmp_path: Any) -> None:
    adapter = vneid().open(AdapterContext(settings=Settings(data_dir=tmp_path)))
    try:
        _: RedirectAdapter = adapter  # type: ignore[assignment]
        assert isinstance(adapter, RedirectAdapter) and isinstance(adapter, OidcUpstreamAdapter)
        assert adapter.display_name("vi") == "vneid"
    finally:
        adapter.close()  # type: ignore[attr-defined]


def test_the_adapters_file_accepts_the_national_profiles() -> None:
    from adapters.registry import AdapterConfigError, parse_adapter_configs

    text = """
adapters:
  - id: vneid
    type: vneid
    base_url: https://sso.example.test/auth
    client_id: provincial-idp
    client_secret: s3cret
    acr_map: {"1": vneid-l1}
  - id: dvcqg
    type: dvcqg
    base_url: https://xacthuc.example.test
    client_id: provincial-idp
    client_secret: s3cret
"""
    vneid_config, dvcqg_config = parse_adapter_configs(text, "adapters.yaml")
    assert isinstance(vneid_config, VneidConfig) and vneid_config.acr_map == {"1": "vneid-l1"}
    assert isinstance(dvcqg_config, DvcqgConfig)
    with pytest.raises(AdapterConfigError, match="line 8.*'vneid'.*id_token_algs.*only asymmetric"):
        parse_adapter_configs(text.replace('acr_map: {"1": vneid-l1}', "id_token_algs: [HS256]"), "adapters.yaml")
