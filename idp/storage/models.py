"""Records of the durable store: frozen dataclasses that cross the storage boundary."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Client:
    """A registered relying party. ``extra`` holds metadata that later profiles add
    (jwks, jwks_uri, backchannel_logout_uri, subject_type, sector_identifier_uri, id_token_alg, ...)."""

    client_id: str
    name: str
    auth_method: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ("authorization_code",)
    scopes: tuple[str, ...] = ("openid",)
    secret_hash: str | None = None
    trusted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    @property
    def is_public(self) -> bool:
        return self.auth_method == "none"

    def replace(self, **changes: Any) -> Client:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Subject:
    """One person (or service identity) known to the provider; ``id`` is internal, never a ``sub``.

    ``sources`` says where ``claims`` came from: ``{adapter id: {"claims": [names it owns],
    "checked_at": epoch seconds it last vouched for them}}`` (see idp.identity.sources)."""

    id: str
    kind: str
    personal_id_hash: str | None = None
    personal_id_enc: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def replace(self, **changes: Any) -> Subject:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Account:
    """A local account (officials, the demo): username and argon2id password hash."""

    id: str
    subject_id: str
    username: str
    password_hash: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    has_second_factor: bool = False
    disabled: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    #: Whether the account's person holds a passkey, read with the row by the sign-in's lookup
    #: (``get_by_username``: no second read after the password); None where it was not read.
    holds_passkey: bool | None = field(default=None, compare=False)

    def replace(self, **changes: Any) -> Account:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class PersonFactors:
    """The second factors of a person without a local account; ``extra`` has the factor keys of
    :attr:`Account.extra` (``totp``, ``totp_pending``); ``username`` names them in an authenticator app."""

    subject_id: str
    username: str
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def replace(self, **changes: Any) -> PersonFactors:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Passkey:
    """A person's WebAuthn credential: ``credential_id`` base64url, ``public_key`` a COSE_Key,
    ``sign_count`` the authenticator's counter at its last use."""

    id: str
    subject_id: str
    credential_id: str
    public_key: bytes
    sign_count: int
    aaguid: str
    backed_up: bool
    name: str
    transports: tuple[str, ...] = ()
    version: int = 1
    created_at: datetime = field(default_factory=utcnow)
    last_used_at: datetime | None = None

    def replace(self, **changes: Any) -> Passkey:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class IdentityLink:
    """An identity at some source (adapter + its subject) linked to a local subject."""

    id: str
    subject_id: str
    adapter: str
    external_subject: str
    claims: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)
    last_login_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class Consent:
    """What a person allowed a client to receive."""

    subject_id: str
    client_id: str
    scopes: frozenset[str]
    claims: frozenset[str] = frozenset()
    version: int = 1
    granted_at: datetime = field(default_factory=utcnow)

    def covers(self, scopes: set[str] | frozenset[str], claims: set[str] | frozenset[str] = frozenset()) -> bool:
        return set(scopes) <= self.scopes and set(claims) <= self.claims


@dataclass(frozen=True)
class Grant:
    """A person's authorisation of a client: the root of its refresh tokens (revoked as a whole)."""

    id: str
    client_id: str
    subject_id: str | None
    scopes: tuple[str, ...]
    expires_at: datetime
    claims: dict[str, Any] = field(default_factory=dict)
    sid: str | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    auth_time: int | None = None
    created_at: datetime = field(default_factory=utcnow)
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > utcnow()


@dataclass(frozen=True)
class RefreshToken:
    """A refresh token, stored only as a hash; ``used_at`` is set when it is rotated."""

    token_hash: str
    grant_id: str
    expires_at: datetime
    dpop_jkt: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    used_at: datetime | None = None


@dataclass(frozen=True)
class SigningKeyRecord:
    """Metadata (and, for software keys, the encrypted private key) of one signing key."""

    kid: str
    alg: str
    backend: str
    state: str
    public_jwk: dict[str, Any]
    private_key_enc: bytes | None = None
    hsm_label: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    activated_at: datetime | None = None
    retired_at: datetime | None = None
    version: int = 1

    def replace(self, **changes: Any) -> SigningKeyRecord:
        return dataclasses.replace(self, **changes)
