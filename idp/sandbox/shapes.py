"""The two national shapes: where the endpoints are and what the tokens and userinfo carry.

VNeID: a Keycloak realm (``/realms/<realm>/protocol/openid-connect/{auth,token,userinfo,certs,
logout}``), ``preferred_username`` = the personal ID number, ``acr: "1"`` (Keycloak's default),
``iss`` in the authorization response, ``acr: "2"`` when ``acr_values=2`` asks for level 2 and the
citizen's account is at level 2. The National Public Service Portal: WSO2 Identity
Server's layout (``/oauth2/{authorize,token,userinfo,jwks}``, ``/oidc/logout``, issuer
``{base}/oauth2/token``), ``acr`` echoing ``acr_values=LoA1``, Vietnamese userinfo fields.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from idp.sandbox.citizens import ORGANISATIONS, Citizen, organisation

SUB_NAMESPACE = uuid.UUID("3b1f7a3c-8a51-4bd2-9a53-6f0b2f1c9e11")


@dataclass(frozen=True)
class Shape(ABC):
    """Paths (relative to the base URL) and claim builders of one national upstream; one subclass
    per shape says what its ID token and userinfo carry."""

    name: str
    issuer_path: str
    authorize_path: str
    token_path: str
    userinfo_path: str
    jwks_path: str
    logout_path: str
    discovery_path: str
    title: str
    personal_id_claims: tuple[str, ...]
    iss_in_response: bool
    #: Whether organisation e-ID accounts sign in here (``MST:<tax code>`` on the login page).
    organisation_accounts: bool = False

    def issuer(self, base_url: str) -> str:
        return base_url.rstrip("/") + self.issuer_path

    def subject(self, citizen: Citizen, record: dict[str, Any] | None = None) -> str:
        """The account's ``sub``: the citizen's, or the organisation's when ``record`` (the
        authorization) is an organisation account's sign-in."""
        tax_code = (record or {}).get("organisation")
        if tax_code:
            return str(uuid.uuid5(SUB_NAMESPACE, f"{self.name}:org:{tax_code}"))
        return str(uuid.uuid5(SUB_NAMESPACE, f"{self.name}:{citizen.personal_id}"))

    @abstractmethod
    def id_token_claims(self, citizen: Citizen, record: dict[str, Any]) -> dict[str, Any]:
        """This shape's own ID token claims for ``citizen``; ``record`` is the authorization (its
        ``sid`` and ``acr_values``)."""

    @abstractmethod
    def userinfo(self, citizen: Citizen, record: dict[str, Any]) -> dict[str, Any]:
        """The userinfo response for ``citizen``."""


@dataclass(frozen=True)
class VneidShape(Shape):
    """VNeID's Keycloak realm: the personal ID number as ``preferred_username``, ``acr: "1"``
    (``"2"`` when asked for and reached). An organisation e-ID account (signed in by its legal
    representative) says ``account_type`` ``organization``, ``tax_code``, ``organization_eid`` and
    ``organization_name``, ``representative_name``, its e-ID number as ``preferred_username`` (these names are the
    sandbox's: VNeID's are not publicly documented, and the adapter maps them by configuration)."""

    def _person(self, citizen: Citizen, record: dict[str, Any] | None = None) -> dict[str, Any]:
        signed_in_as = organisation(str((record or {}).get("organisation") or ""))
        if signed_in_as is not None:  # an organisation account, signed in by its representative
            return {"sub": self.subject(citizen, record), "preferred_username": signed_in_as.org_eid,
                    "name": signed_in_as.name, "email_verified": False, "account_type": "organization",
                    "tax_code": signed_in_as.tax_code, "organization_eid": signed_in_as.org_eid,
                    "organization_name": signed_in_as.name,
                    "representative_name": citizen.full_name}
        return {
            "sub": self.subject(citizen),
            "preferred_username": citizen.personal_id,
            "name": citizen.full_name,
            "given_name": citizen.given_names,
            "family_name": citizen.family_name,
            "email_verified": False,
        }

    def id_token_claims(self, citizen: Citizen, record: dict[str, Any]) -> dict[str, Any]:
        return {**self._person(citizen, record), "typ": "ID", "acr": self.acr(citizen, record),
                "session_state": record["sid"]}

    @staticmethod
    def acr(citizen: Citizen, record: dict[str, Any]) -> str:
        """Keycloak's level of authentication: ``"1"`` for a normal login; ``"2"`` when the
        client's ``acr_values`` asked for it and the citizen's account is at e-ID level 2 (as
        Keycloak's acr-to-level mapping answers a non-essential request with what was reached)."""
        return "2" if "2" in record.get("acr_values", "").split() and citizen.eid_level >= 2 else "1"

    def userinfo(self, citizen: Citizen, record: dict[str, Any]) -> dict[str, Any]:
        return self._person(citizen, record)


@dataclass(frozen=True)
class DvcqgShape(Shape):
    """The National Public Service Portal (WSO2): ``acr`` echoes ``acr_values=LoA1|LoA2`` (LoA2
    only for a level-2 electronic identity), Vietnamese userinfo fields. An organisation account
    (``LoaiTaiKhoan`` 2) signs in through its legal representative and says the organisation's
    ``MaSoThue``, ``MaDinhDanhToChuc`` and ``TenToChuc`` (these names are the sandbox's: the
    portal's are not publicly documented, and the adapter maps them by configuration); a citizen's
    account lists the organisations they represent or work for (``DanhSachToChuc``)."""

    def id_token_claims(self, citizen: Citizen, record: dict[str, Any]) -> dict[str, Any]:
        claims: dict[str, Any] = {"sub": self.subject(citizen, record), "amr": ["VNeIDAuthenticator"]}
        requested = record.get("acr_values", "").split()
        if "LoA1" in requested or "LoA2" in requested:
            claims["acr"] = "LoA2" if "LoA2" in requested and citizen.eid_level >= 2 else "LoA1"
        return claims

    def userinfo(self, citizen: Citizen, record: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "sub": self.subject(citizen, record),
            "TechID": str(uuid.uuid5(SUB_NAMESPACE, f"techid:{citizen.personal_id}")),
            "LoaiTaiKhoan": "1",
            "HoVaTen": citizen.full_name,
            "SoDinhDanh": citizen.personal_id,
            "NgayThangNamSinh": citizen.birthdate.strftime("%Y%m%d"),
            "loginIdp": "BCA",
        }
        signed_in_as = organisation(str(record.get("organisation") or ""))
        if signed_in_as is not None:  # the representative's identity, and the organisation's
            return {**info, "LoaiTaiKhoan": "2", "MaSoThue": signed_in_as.tax_code,
                    "MaDinhDanhToChuc": signed_in_as.org_eid, "TenToChuc": signed_in_as.name}
        roles = [(o, "NguoiDaiDien" if o.representative == citizen.personal_id else "NhanVien")
                 for o in ORGANISATIONS if citizen.personal_id in (o.representative, *o.employees)]
        if roles:
            info["DanhSachToChuc"] = [{"MaSoThue": o.tax_code, "MaDinhDanhToChuc": o.org_eid, "TenToChuc": o.name,
                                       "VaiTro": role} for o, role in roles]
        return info


def vneid_shape(realm: str = "citizen") -> Shape:
    prefix = f"/realms/{realm}/protocol/openid-connect"
    return VneidShape(
        name="vneid",
        issuer_path=f"/realms/{realm}",
        authorize_path=f"{prefix}/auth",
        token_path=f"{prefix}/token",
        userinfo_path=f"{prefix}/userinfo",
        jwks_path=f"{prefix}/certs",
        logout_path=f"{prefix}/logout",
        discovery_path=f"/realms/{realm}/.well-known/openid-configuration",
        title="VNeID — Định danh điện tử (mô phỏng)",
        personal_id_claims=("preferred_username",),
        iss_in_response=True,
        organisation_accounts=True,
    )


def dvcqg_shape() -> Shape:
    return DvcqgShape(
        name="dvcqg",
        issuer_path="/oauth2/token",
        authorize_path="/oauth2/authorize",
        token_path="/oauth2/token",  # noqa: S106 - a path
        userinfo_path="/oauth2/userinfo",
        jwks_path="/oauth2/jwks",
        logout_path="/oidc/logout",
        discovery_path="/oauth2/token/.well-known/openid-configuration",
        title="Cổng Dịch vụ công quốc gia — Đăng nhập (mô phỏng)",
        personal_id_claims=("SoDinhDanh",),
        iss_in_response=False,
        organisation_accounts=True,
    )
