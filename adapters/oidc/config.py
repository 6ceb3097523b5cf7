"""Configuration of the ``oidc`` adapter (version 1): one upstream OpenID Provider.

Either ``discovery: true`` (the provider's metadata at ``{issuer}/.well-known/openid-configuration``,
OpenID Connect Discovery 1.0 §4) or the endpoints written out. Secrets are ``SecretStr`` and never
appear in errors or logs. Only asymmetric ID-token algorithms may be configured.

acr: ``acr_map`` maps an upstream ``acr`` (exact string) to a local level's short token
(policies/loa.py: ``local-basic`` ... ``pki-hw``); an absent or unmapped value gets
``default_acr``, the lowest level the operator can justify for this upstream. The Identity's
``acr`` is that short token; the upstream's own value is kept in ``evidence["upstream_acr"]``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from adapters.base import Adapter
from adapters.config import REDIRECT, AdapterConfig, AdapterContext, Produces
from idp.settings import is_loopback_host
from policies.loa import highest_mapped_level, level_from_token, validate_acr_mapping

ASYMMETRIC_ALGS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
STANDARD_CLAIMS = frozenset(
    {"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "profile",
     "picture", "website", "email", "email_verified", "gender", "birthdate", "zoneinfo", "locale",
     "phone_number", "phone_number_verified", "address", "updated_at"}
)  # fmt: skip
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint")


def check_url(value: str, what: str) -> str:
    """An absolute https URL (http only on loopback, for tests and the sandbox)."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{what} must be an absolute http(s) URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(f"{what} must use https unless the host is loopback")
    if parts.fragment:
        raise ValueError(f"{what} must not have a fragment")
    return value


class OidcConfig(AdapterConfig):
    """A generic upstream OpenID Provider (authorization code flow)."""

    capabilities: ClassVar[frozenset[str]] = frozenset({REDIRECT})
    config_version: ClassVar[int] = 1

    type: Literal["oidc"]
    issuer: str = Field(description="The upstream's issuer identifier (compared exactly with `iss`).")
    discovery: bool = Field(default=True, description="Read the endpoints from the discovery document.")
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    jwks_uri: str | None = None
    end_session_endpoint: str | None = None
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post", "private_key_jwt"] = (
        "client_secret_basic"  # noqa: S105 - a method name, not a secret
    )
    private_jwk: SecretStr | None = Field(
        default=None, description="Private JWK (JSON) for private_key_jwt client authentication."
    )
    private_key_alg: Literal["RS256", "PS256", "ES256"] = "RS256"
    scopes: tuple[str, ...] = ("openid", "profile")
    authorize_params: dict[str, str] = Field(
        default_factory=dict, description="Extra authorization request parameters (e.g. acr_values)."
    )
    pkce: Literal["auto", "always", "never"] = Field(
        default="auto", description="S256 PKCE: auto = when the upstream advertises S256."
    )
    id_token_algs: tuple[str, ...] = ("RS256",)
    leeway_seconds: int = Field(default=30, ge=0, le=300, description="Clock skew allowed on exp/iat.")
    max_id_token_age_seconds: int = Field(default=600, ge=30, description="Refuse ID tokens issued longer ago.")
    max_token_bytes: int = Field(default=16384, ge=1024, le=262144, description="Refuse larger tokens.")
    timeout_seconds: float = Field(default=10.0, gt=0, le=60, description="Timeout of every upstream call.")
    jwks_refresh_seconds: int = Field(
        default=60, ge=1, description="Refetch the JWKS on an unknown kid at most once per this period."
    )
    pending_ttl_seconds: int = Field(default=600, ge=60, le=3600, description="How long a sign-in may take.")
    use_userinfo: bool = True
    claim_map: dict[str, str] = Field(
        default_factory=dict, description="Upstream claim name -> local claim name (applied before the profile)."
    )
    acr_map: dict[str, str] = Field(default_factory=dict, description="Upstream acr -> local acr level.")
    default_acr: str = Field(
        default="local-basic", description="Local acr when the upstream's is absent or unmapped (the lowest)."
    )
    amr: tuple[str, ...] = ("fed",)
    logout_method: Literal["post", "get"] = Field(
        default="post",
        description="How the browser is sent to the upstream's end_session_endpoint: `post` (a form "
        "submitted on load, carrying id_token_hint in its body; RP-Initiated Logout 1.0 §2 has every "
        "provider accept it) or `get`, for an upstream that does not (a redirect with client_id and the "
        "upstream session's sid as logout_hint: the ID token, which may carry a personal ID number, never "
        "travels in a URL).",
    )

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        check_url(value, "issuer")
        if urlsplit(value).query:
            raise ValueError("issuer must not have a query")
        return value

    @field_validator(*ENDPOINTS)
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value, "endpoint")

    @field_validator("id_token_algs")
    @classmethod
    def _algs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one algorithm is needed")
        for alg in value:
            if alg not in ASYMMETRIC_ALGS:
                raise ValueError(f"{alg!r} is not allowed: only asymmetric signature algorithms")
        return value

    @field_validator("default_acr")
    @classmethod
    def _default_acr(cls, value: str) -> str:
        return level_from_token(value).token

    @field_validator("acr_map")
    @classmethod
    def _acr_map(cls, value: dict[str, str]) -> dict[str, str]:
        return {upstream: level.token for upstream, level in validate_acr_mapping(value).items()}

    @property
    def max_acr(self) -> str:
        """The highest local level a sign-in through this adapter can reach (for policies)."""
        return highest_mapped_level(self.acr_map, default=self.default_acr).token

    def upstream_acr_value(self, needed: str) -> str | None:
        """The upstream's own acr value to ask for a local level ``needed`` (a short token): the
        ``acr_map`` entry of the lowest level at or above it (the profile's level vocabulary read
        backwards); None when every sign-in reaches it anyway (``default_acr``) or when no value
        does, a level this upstream cannot give."""
        wanted = level_from_token(needed)
        if level_from_token(self.default_acr) >= wanted:
            return None
        reaching = [(level_from_token(local), upstream) for upstream, local in self.acr_map.items()
                    if level_from_token(local) >= wanted]
        return min(reaching, key=lambda pair: pair[0])[1] if reaching else None

    def produces(self) -> Produces:
        """The default level and every mapped one; the standard claims an upstream may send
        (:meth:`normalise_claims` passes them) and what ``claim_map`` names. Profiles say
        exactly what their upstream sends (:meth:`profile_claims`)."""
        levels = {self.default_acr, *self.acr_map.values()}
        claims = set(self.profile_claims()) | set(self.claim_map.values())
        for level in levels:
            claims |= set(self.level_claims(level))
        return Produces(tuple(sorted(levels, key=level_from_token)), frozenset(claims))

    def profile_claims(self) -> frozenset[str]:
        """The claims :meth:`normalise_claims` can yield (without ``claim_map``)."""
        return STANDARD_CLAIMS

    def level_claims(self, level: str) -> dict[str, Any]:
        """Claims a sign-in at local ``level`` (a short token) says about the person; none for a
        generic upstream (a national profile says the e-ID level)."""
        return {}

    def organisation_entitlements(self, upstream: dict[str, Any]) -> list[dict[str, str]]:
        """The organisations the upstream says the signed-in person may act for (the fields of
        :class:`adapters.base.OrganisationEntitlement`); none for a generic upstream (a national
        profile reads its own list)."""
        return []

    @field_validator("private_jwk")
    @classmethod
    def _private_jwk(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                data = json.loads(value.get_secret_value())
            except ValueError:
                raise ValueError("private_jwk must be a JSON object") from None
            if not isinstance(data, dict) or data.get("kty") not in ("RSA", "EC") or "d" not in data:
                raise ValueError("private_jwk must be a private RSA or EC JWK")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> OidcConfig:
        if "openid" not in self.scopes:
            raise ValueError("scopes must include openid")
        if self.token_endpoint_auth_method == "private_key_jwt":  # noqa: S105
            if self.private_jwk is None:
                raise ValueError("private_key_jwt needs private_jwk")
        elif self.client_secret is None:
            raise ValueError(f"{self.token_endpoint_auth_method} needs client_secret")
        if not self.discovery:
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if getattr(self, name) is None:
                    raise ValueError(f"{name} is required when discovery is off")
        return self

    def static_metadata(self) -> dict[str, Any]:
        """The endpoints written in the configuration (discovery fills the rest)."""
        return {name: getattr(self, name) for name in ENDPOINTS if getattr(self, name)}

    def normalise_claims(self, upstream: dict[str, Any]) -> dict[str, Any]:
        """Turn the upstream's claims (ID token and userinfo) into local ones.

        Generic rule: the standard OIDC claims (Core §5.1) pass, plus what ``claim_map`` names.
        Anything else is dropped, so an upstream cannot assert ``vn_*`` claims (a personal ID
        number, an e-ID level) unless the configuration says it may. Profiles override this
        (calling it first) and may raise UpstreamRejected."""
        claims = {k: v for k, v in upstream.items() if k in STANDARD_CLAIMS}
        for upstream_name, local_name in self.claim_map.items():
            if upstream_name in upstream:
                claims[local_name] = upstream[upstream_name]
        return claims

    def open(self, context: AdapterContext) -> Adapter:
        from adapters.oidc.adapter import OidcUpstreamAdapter

        return OidcUpstreamAdapter(self, replay_guard=context.ephemeral)
