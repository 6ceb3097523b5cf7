"""The admin API's request and response bodies (pydantic), from which ``/admin/openapi.json`` is
generated. Requests forbid unknown fields and bound every string and list, so a malformed request
is a 400 before any service sees it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from idp.clients.metadata import AUTH_METHODS, GRANT_TYPES

ClientId = Annotated[str, Field(min_length=1, max_length=255)]
Uri = Annotated[str, Field(min_length=1, max_length=2048)]
Scope = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21\x23-\x5b\x5d-\x7e]+$")]
GrantType = Literal["authorization_code", "refresh_token", "client_credentials"]
AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
Name = Annotated[str, Field(min_length=1, max_length=255)]

assert set(GRANT_TYPES) == set(GrantType.__args__)  # type: ignore[attr-defined]
assert set(AUTH_METHODS) == set(AuthMethod.__args__)  # type: ignore[attr-defined]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JwkSet(BaseModel):
    """A public JWK Set (RFC 7517 §5); the keys are checked as at registration."""

    model_config = ConfigDict(extra="allow")
    keys: Annotated[list[dict[str, Any]], Field(max_length=20)]


class ClientCreate(Request):
    client_id: ClientId
    client_name: Name | None = None
    redirect_uris: Annotated[list[Uri], Field(max_length=20)] = []
    post_logout_redirect_uris: Annotated[list[Uri], Field(max_length=20)] = []
    grant_types: Annotated[list[GrantType], Field(min_length=1, max_length=3)] = [
        "authorization_code", "refresh_token"]
    scope: Annotated[list[Scope], Field(max_length=50)] | None = Field(
        default=None, description="allowed scopes (default: the standard OpenID Connect scopes)")
    token_endpoint_auth_method: AuthMethod = "client_secret_basic"
    trusted: bool = False
    jwks: JwkSet | None = None
    jwks_uri: Uri | None = None
    require_pushed_authorization_requests: bool = False
    strict_profile: bool = False


class ClientPatch(Request):
    """The fields to change; a field left out keeps its value. ``jwks`` and ``jwks_uri`` replace
    each other; ``clear_keys`` removes both."""

    client_name: Name | None = None
    redirect_uris: Annotated[list[Uri], Field(max_length=20)] | None = None
    post_logout_redirect_uris: Annotated[list[Uri], Field(max_length=20)] | None = None
    grant_types: Annotated[list[GrantType], Field(min_length=1, max_length=3)] | None = None
    scope: Annotated[list[Scope], Field(max_length=50)] | None = None
    trusted: bool | None = None
    jwks: JwkSet | None = None
    jwks_uri: Uri | None = None
    clear_keys: bool = False
    require_pushed_authorization_requests: bool | None = None
    strict_profile: bool | None = None


class ClientOut(BaseModel):
    """A relying party as ``idp clients show`` prints it (never its secret or a hash)."""

    model_config = ConfigDict(extra="allow")
    client_id: str
    client_name: str
    token_endpoint_auth_method: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    scope: str
    trusted: bool
    disabled: bool = False


class ClientWithSecret(ClientOut):
    client_secret: str | None = Field(default=None, description="shown once; stored only as a hash")


class SecretOut(BaseModel):
    client_id: str
    client_secret: str = Field(description="shown once; the previous secret no longer works")


class AccountOut(BaseModel):
    username: str
    subject_id: str
    name: str | None
    email: str | None
    phone: str | None
    disabled: bool
    second_factor: bool
    roles: list[str]


class PersonOut(BaseModel):
    subject_id: str
    kind: str
    name: str | None
    username: str | None = Field(description="the local account's username; null for a person without one")
    sources: list[str] = Field(description="the adapters that vouch for the person's claims")
    personal_id_known: bool = Field(description="whether a personal ID number is on record (never shown)")


class PasswordReset(Request):
    password: Annotated[str, Field(min_length=1, max_length=1024)] | None = Field(
        default=None, description="the new password; left out, one is generated and returned once")


class PasswordResetOut(AccountOut):
    password: str | None = Field(default=None, description="the generated password, shown once")


class RevokedOut(BaseModel):
    subject_id: str
    sessions_ended: int
    grants_revoked: int
    backchannel_logouts: int = Field(description="logout tokens queued for relying parties with a "
                                     "backchannel_logout_uri")


class FactorsResetOut(BaseModel):
    subject_id: str
    holder: str = Field(description="account (a local account's factors) or person (anyone else's)")
    totp_removed: bool
    recovery_codes_removed: bool
    passkeys_removed: int


class PolicyOut(BaseModel):
    client_id: str | None = Field(description="null for the default policy")
    source: str
    digest: str
    document: dict[str, Any]


class PolicyCheck(Request):
    client_id: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._-]+$")] | None = Field(
        default=None, description="the client the document is for; left out: the default policy")
    document: Annotated[str, Field(min_length=1, max_length=65536)] = Field(description="the YAML document")


class PolicyActivate(Request):
    document: Annotated[str, Field(min_length=1, max_length=65536)] = Field(description="the YAML document")


class PolicyChangeOut(BaseModel):
    name: str = Field(description="default, or the client id the document governs")
    before: str | None = Field(description="SHA-256 of the document replaced (null: the client had none)")
    after: str | None = Field(description="SHA-256 of the document now in force (null: the default applies)")


class PolicyCheckOut(BaseModel):
    valid: bool
    digest: str | None = None
    error: str | None = None
    line: int | None = None
    field: str | None = None


class KeyOut(BaseModel):
    kid: str
    alg: str
    backend: str
    state: str
    published: bool
    created_at: str
    activated_at: str | None
    retired_at: str | None
    published_until: str | None


class KeyRotate(Request):
    alg: Literal["ES256", "PS256", "RS256", "EdDSA"] = "ES256"
    force: bool = Field(default=False, description="promote the next key even if JWKS caches may not have it yet")


class RotationOut(BaseModel):
    alg: str
    current: str
    retired: str | None
    next: str


class ErrorOut(BaseModel):
    error: str
    error_description: str | None = None
