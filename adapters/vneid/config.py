"""Configuration of the ``vneid`` adapter (version 1): the national e-ID's Keycloak realm.

VNeID's web sign-on is a Keycloak realm (docs/domain.md, "VNeID"): issuer
``{base_url}/realms/{realm}``, endpoints under ``/protocol/openid-connect/`` (``auth``, ``token``,
``userinfo``, ``certs``, ``logout``), RS256 ID tokens, ``preferred_username`` = the 12-digit
personal ID number. Keycloak puts ``acr: "1"`` in every token of a normal login: that is not
"e-ID level 1", so ``acr_map`` is empty by default and the level stays the lowest
(``local-basic``) until an operator maps a value agreed with the national operator. The mapping
is also the profile's level vocabulary: a sign-in that needs level 2 asks for the value mapped to
``vneid-l2`` as ``acr_values`` (OidcConfig.upstream_acr_value), and none is asked when no value is.
Organisation e-ID accounts (MPS-issued, in use since 1 July 2025) sign in through the same realm;
how VNeID marks them and names their fields is not publicly documented [unverified]: the
``account_type_claim``, ``account_types`` and ``organisation_fields`` name them, the last two
defaulting to the sandbox's names, and ``account_types`` is empty (no organisation accounts) until
an operator maps a value to ``organization``.
"""

from __future__ import annotations

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


class VneidConfig(OidcConfig):
    """VNeID (Keycloak realm) as an upstream OpenID Provider."""

    type: Literal["vneid"]  # type: ignore[assignment]
    base_url: str = Field(description="Keycloak base URL, e.g. https://sso.example.gov.vn/auth.")
    realm: str = Field(default="citizen", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    discovery: bool = False
    pkce: Literal["auto", "always", "never"] = "always"
    scopes: tuple[str, ...] = ("openid", "profile")
    personal_id_claim: str = Field(default="preferred_username", description="Claim carrying the personal ID.")
    account_type_claim: str = Field(default="account_type", description="Claim saying the account's type "
                                    "(VNeID's name is not publicly documented: this is the sandbox's).")
    account_types: dict[str, str] = Field(
        default_factory=dict,
        description="account_type_claim value -> vn_account_type; organisation accounts sign in only when a "
        "value maps to organization (the sandbox's: {\"organization\": \"organization\"}).",
    )
    organisation_fields: dict[str, str] = Field(
        default_factory=lambda: {"tax_code": "vn_org_tax_code", "organization_eid": "vn_org_eid",
                                 "organization_name": "vn_org_name", "representative_name": "vn_org_representative"},
        description="Claim of an organisation account's userinfo -> local claim (VNeID's names are not "
        "publicly documented: these are the sandbox's).",
    )

    @model_validator(mode="before")
    @classmethod
    def _realm_endpoints(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("base_url"), str):
            data = dict(data)
            issuer = data.setdefault("issuer", f"{data['base_url'].rstrip('/')}/realms/{data.get('realm', 'citizen')}")
            prefix = f"{issuer}/protocol/openid-connect"
            for name, path in (
                ("authorization_endpoint", "auth"),
                ("token_endpoint", "token"),
                ("userinfo_endpoint", "userinfo"),
                ("jwks_uri", "certs"),
                ("end_session_endpoint", "logout"),
            ):
                data.setdefault(name, f"{prefix}/{path}")
        return data

    def normalise_claims(self, upstream: dict[str, Any]) -> dict[str, Any]:
        """Standard claims, the name split the Vietnamese way, ``vn_personal_id`` from
        ``preferred_username`` (which is then dropped: it *is* the number), ``vn_login_idp``; an
        organisation account's claims instead (adapters.vneid.claims.organisation_account_claims)
        when ``account_types`` maps its type to an organisation."""
        if is_organisation_account(upstream.get(self.account_type_claim), self.account_types):
            return {**organisation_account_claims(upstream, self.organisation_fields), "vn_login_idp": "vneid"}
        claims = super().normalise_claims(upstream)
        claims.pop("preferred_username", None)
        claims["vn_personal_id"] = personal_id_claim(upstream.get(self.personal_id_claim))
        claims.update(name_claims(upstream.get("name")))
        claims["vn_login_idp"] = "vneid"
        return claims

    def level_claims(self, level: str) -> dict[str, Any]:
        """``vn_eid_level`` (1 or 2) when the sign-in reached an e-ID level."""
        return eid_level_claims(level)

    def profile_claims(self) -> frozenset[str]:
        """The standard claims but ``preferred_username`` (it is the number), the number as
        ``vn_personal_id``, ``vn_login_idp``; an organisation account's claims when configured."""
        organisations = organisation_profile_claims(self.account_types, self.organisation_fields)
        return (STANDARD_CLAIMS - {"preferred_username"}) | {"vn_personal_id", "vn_login_idp"} | organisations
