"""Configuration of the ``dvcqg`` adapter (version 1): the National Public Service Portal's SSO.

The portal's SSO (docs/domain.md, the national portal's SSO) has WSO2 Identity Server's layout:
``/oauth2/authorize``, ``/oauth2/token``, ``/oauth2/userinfo``, ``/oauth2/jwks``, logout at
``/oidc/logout`` and, as WSO2's default, the issuer ``{base_url}/oauth2/token``. Relying parties
send ``acr_values=LoA1`` (``authorize_params``); when the sign-in needs level 2 the adapter asks
for ``LoA2`` instead (``acr_map`` read backwards, OidcConfig.upstream_acr_value).
Userinfo uses Vietnamese field names, normalised here:
``SoDinhDanh`` -> ``vn_personal_id``, ``HoVaTen`` -> ``name`` (+ họ/chữ đệm/tên),
``NgayThangNamSinh`` (YYYYMMDD) -> ``birthdate`` (ISO), ``LoaiTaiKhoan`` -> ``vn_account_type``,
``loginIdp`` -> ``vn_login_idp``. The values of ``LoaiTaiKhoan`` are not publicly documented
[unverified]: ``account_types`` maps them and unknown values pass through unchanged.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field, model_validator

from adapters.oidc.config import STANDARD_CLAIMS, OidcConfig
from adapters.vneid.claims import (
    eid_level_claims,
    is_organisation_account,
    name_claims,
    organisation_account_claims,
    organisation_profile_claims,
    personal_id_claim,
)


def iso_birthdate(value: Any) -> str | None:
    """``YYYYMMDD`` -> ``YYYY-MM-DD``; None for anything that is not a real date."""
    if not isinstance(value, str) or len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
    except ValueError:
        return None


class DvcqgConfig(OidcConfig):
    """The National Public Service Portal's SSO as an upstream OpenID Provider."""

    type: Literal["dvcqg"]  # type: ignore[assignment]
    base_url: str = Field(description="The SSO's base URL, e.g. https://xacthuc.dichvucong.gov.vn.")
    discovery: bool = False
    pkce: Literal["auto", "always", "never"] = "always"
    scopes: tuple[str, ...] = ("openid",)
    authorize_params: dict[str, str] = Field(default_factory=lambda: {"acr_values": "LoA1"})
    acr_map: dict[str, str] = Field(default_factory=lambda: {"LoA1": "vneid-l1", "LoA2": "vneid-l2"})
    account_types: dict[str, str] = Field(
        default_factory=lambda: {"1": "citizen", "2": "organization"},
        description="LoaiTaiKhoan value -> vn_account_type.",
    )
    organisation_fields: dict[str, str] = Field(
        default_factory=lambda: {"MaSoThue": "vn_org_tax_code", "MaDinhDanhToChuc": "vn_org_eid",
                                 "TenToChuc": "vn_org_name"},
        description="Field of an organisation account's userinfo -> local claim (the portal's names are not "
        "publicly documented: these are the sandbox's).",
    )
    login_idps: dict[str, str] = Field(
        default_factory=lambda: {"BCA": "vneid"}, description="loginIdp value -> vn_login_idp."
    )
    entitlement_list: str | None = Field(
        default="DanhSachToChuc",
        description="Field of a person's userinfo listing the organisations they may act for (each entry with "
        "the organisation_fields and entitlement_role); empty: the portal is no source of entitlements.",
    )
    entitlement_role: str = Field(default="VaiTro", description="Field of a list entry: the person's role there.")
    entitlement_roles: dict[str, str] = Field(
        default_factory=lambda: {"NguoiDaiDien": "representative", "NhanVien": "employee"},
        description="Role value -> representative | employee (an entry with another role is no entitlement).",
    )

    @model_validator(mode="before")
    @classmethod
    def _wso2_endpoints(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("base_url"), str):
            data = dict(data)
            base = data["base_url"].rstrip("/")
            data.setdefault("issuer", f"{base}/oauth2/token")
            for name, path in (
                ("authorization_endpoint", "/oauth2/authorize"),
                ("token_endpoint", "/oauth2/token"),
                ("userinfo_endpoint", "/oauth2/userinfo"),
                ("jwks_uri", "/oauth2/jwks"),
                ("end_session_endpoint", "/oidc/logout"),
            ):
                data.setdefault(name, base + path)
        return data

    def normalise_claims(self, upstream: dict[str, Any]) -> dict[str, Any]:
        if is_organisation_account(upstream.get("LoaiTaiKhoan"), self.account_types):
            return self.organisation_claims(upstream)
        claims = super().normalise_claims(upstream)
        claims["vn_personal_id"] = personal_id_claim(upstream.get("SoDinhDanh"))
        claims.update(name_claims(upstream.get("HoVaTen") or upstream.get("name")))
        birthdate = iso_birthdate(upstream.get("NgayThangNamSinh"))
        if birthdate:
            claims["birthdate"] = birthdate
        account_type = upstream.get("LoaiTaiKhoan")
        if isinstance(account_type, str | int) and str(account_type):
            claims["vn_account_type"] = self.account_types.get(str(account_type), str(account_type))
        login_idp = upstream.get("loginIdp")
        if isinstance(login_idp, str) and login_idp:
            claims["vn_login_idp"] = self.login_idps.get(login_idp, login_idp)
        return claims

    def level_claims(self, level: str) -> dict[str, Any]:
        """``vn_eid_level`` (1 or 2) when the sign-in reached an e-ID level."""
        return eid_level_claims(level)

    def profile_claims(self) -> frozenset[str]:
        """The standard claims, and the portal's fields by their local names (an organisation
        account's too, when ``account_types`` maps one; and ``vn_acting_for`` with the
        organisation's claims when the portal lists whom a person may act for)."""
        organisations = organisation_profile_claims(self.account_types, self.organisation_fields)
        if self.entitlement_list:  # idp.oidc.acting
            organisations |= {"vn_acting_for", "vn_org_tax_code", "vn_org_eid", "vn_org_name"}
        return STANDARD_CLAIMS | {"vn_personal_id", "vn_account_type", "vn_login_idp"} | organisations

    def organisation_entitlements(self, upstream: dict[str, Any]) -> list[dict[str, str]]:
        """A person's account (never an organisation's): each entry of ``entitlement_list`` with a
        tax code, a name and a known role, by the local field names (at most 50)."""
        listed = upstream.get(self.entitlement_list) if self.entitlement_list else None
        if not isinstance(listed, list) or is_organisation_account(upstream.get("LoaiTaiKhoan"), self.account_types):
            return []
        names = {"vn_org_tax_code": "tax_code", "vn_org_eid": "org_eid", "vn_org_name": "name"}
        found: dict[str, dict[str, str]] = {}
        for entry in listed[:50]:
            if not isinstance(entry, dict):
                continue
            fields = {names[claim]: value.strip()[:255] for field, claim in self.organisation_fields.items()
                      if claim in names and isinstance(value := entry.get(field), str) and value.strip()}
            role = self.entitlement_roles.get(str(entry.get(self.entitlement_role)))
            if fields.get("tax_code") and fields.get("name") and role:
                found.setdefault(fields["tax_code"], {**fields, "role": role})
        return list(found.values())

    def organisation_claims(self, upstream: dict[str, Any]) -> dict[str, Any]:
        """An organisation e-ID account (adapters.vneid.claims.organisation_account_claims), with
        ``vn_login_idp`` when the portal says it."""
        claims = organisation_account_claims(upstream, self.organisation_fields)
        login_idp = upstream.get("loginIdp")
        if isinstance(login_idp, str) and login_idp:
            claims["vn_login_idp"] = self.login_idps.get(login_idp, login_idp)
        return claims
