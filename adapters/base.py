"""The seam between the provider and identity sources.

An adapter turns a sign-in at some source into a neutral, frozen :class:`Identity` and never
decides whether that is strong enough: policies do. Adapters take plain request data (query,
form, headers as dicts), never framework objects, so each is testable alone. An adapter
implements one or more capability protocols below; ``_: PasswordAdapter = LdapAdapter(...)`` in a
test is the interface check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from idp.errors import IdpError


@dataclass(frozen=True)
class Identity:
    """Who signed in, as the source reported it.

    ``subject`` is the source's identifier; ``adapter_id`` the configured adapter that produced
    it; ``acr`` and ``amr`` as reported (mapped to local levels by policies/loa.py);
    ``auth_time`` in seconds since the epoch; ``claims`` normalised OIDC/Vietnamese claims;
    ``evidence`` what was verified (certificate, chip data, registry lookup), for the audit trail.
    """

    subject: str
    adapter_id: str
    issuer: str
    auth_time: int
    acr: str | None = None
    amr: tuple[str, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict)
    evidence: Mapping[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] = ()


class AdapterError(IdpError):
    """Base of adapter failures. ``reason`` is a stable code for the audit trail and the page."""

    reason = "adapter_error"

    def __init__(self, message: str = "", *, reason: str | None = None) -> None:
        super().__init__(message or self.reason)
        if reason:
            self.reason = reason


class InvalidCredentials(AdapterError):
    """Wrong username or password (never says which)."""

    reason = "invalid_credentials"


class AccountUnusable(AdapterError):
    """The account exists but may not sign in: disabled, locked, password expired (reason says)."""

    reason = "account_disabled"


class AccountGone(AdapterError):
    """The source no longer has the account (deleted, or no longer matching the source's filter)."""

    reason = "account_gone"


class SourceUnavailable(AdapterError):
    """The source did not answer (down, timeout, TLS failure): never reported as a wrong password."""

    reason = "source_unavailable"


class UpstreamRejected(AdapterError):
    """An upstream response failed validation (state, signature, audience, expiry ...)."""

    reason = "upstream_rejected"


@dataclass(frozen=True)
class RequestData:
    """The plain parts of an HTTP request an adapter may read."""

    query: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    client_ip: str | None = None


@dataclass(frozen=True)
class UpstreamRequest:
    """What the sign-in needs of an upstream, in the provider's terms: ``level``, the short token
    of the level the client's policy needs (``vneid-l2``; None: whatever the upstream gives by
    default), which the adapter asks for in its upstream's own vocabulary; ``fresh``, a new sign-in
    at the upstream (``prompt=login``) rather than its existing session; ``max_age``, the oldest
    upstream sign-in that will do, in seconds."""

    level: str | None = None
    fresh: bool = False
    max_age: int | None = None


@runtime_checkable
class Adapter(Protocol):
    """Every adapter: an id (from configuration), a display name per locale, a kind."""

    id: str

    def display_name(self, locale: str) -> str: ...


@runtime_checkable
class PasswordAdapter(Adapter, Protocol):
    def authenticate(self, username: str, password: str) -> Identity:
        """Check the password at the source; raise InvalidCredentials, AccountUnusable or
        SourceUnavailable."""


@runtime_checkable
class AccountLookup(Adapter, Protocol):
    """A source that can describe an account again without its password (a directory): a
    refresh token's claims then follow the directory, and a deleted or disabled account ends them."""

    def lookup(self, subject: str) -> Identity:
        """The account whose source identifier (``Identity.subject``) this is, as the source
        describes it now; raise AccountGone, AccountUnusable (may no longer sign in) or
        SourceUnavailable."""


@runtime_checkable
class AccountNames(Adapter, Protocol):
    """A source where one account answers to several names (a directory: ``sAMAccountName``,
    ``userPrincipalName``, any case)."""

    def account_name(self, username: str) -> str | None:
        """The account's one canonical name for what was typed, or None when no account answers
        to it (or the source cannot tell now)."""


@runtime_checkable
class AccountFinder(Adapter, Protocol):
    """A source that finds an account by a name it answers to, without its password (a directory):
    an administrator names an official by their directory username (``idp users reset-mfa``)."""

    def account_subject(self, username: str) -> str | None:
        """The source identifier (``Identity.subject``) of the account answering to ``username``,
        or None when none does; raise SourceUnavailable when the source cannot tell now."""


def lockout_key(adapter: Adapter, username: str) -> str:
    """The name failed sign-ins are counted under: the account's canonical name when the source
    can resolve what was typed (every name of one account shares one counter), else the name as
    typed (an unknown name is counted like a known one)."""
    canonical = adapter.account_name(username) if isinstance(adapter, AccountNames) else None
    return canonical or username


@runtime_checkable
class RedirectAdapter(Adapter, Protocol):
    def begin(self, callback_url: str, request: UpstreamRequest | None = None) -> tuple[str, dict[str, Any]]:
        """Start an upstream sign-in for ``request`` (None: nothing in particular): the URL to send
        the browser to and the state to keep (state, nonce, PKCE verifier) until the callback."""

    def complete(self, callback_url: str, request: RequestData, pending: Mapping[str, Any]) -> Identity:
        """Finish it from the callback request and the kept state; raise UpstreamRejected or
        SourceUnavailable."""

    def logout_request(self, identity_hint: Mapping[str, Any], post_logout_redirect_uri: str) -> UpstreamLogout | None:
        """How to end the upstream session too (``identity_hint``: the Identity's
        ``evidence["logout"]``), or None."""


@dataclass(frozen=True)
class UpstreamLogout:
    """A request the browser makes to end an upstream session: ``POST`` of ``params`` as a form
    (the only way an ID token may travel: never in a URL), or ``GET`` of ``url`` with ``params``
    in its query (which then never hold a token)."""

    url: str
    method: str
    params: Mapping[str, str]


@runtime_checkable
class CertificateAdapter(Adapter, Protocol):
    def challenge(self) -> dict[str, Any]:
        """A fresh challenge for the client's certificate key to sign."""

    def authenticate(self, request: RequestData, pending: Mapping[str, Any]) -> Identity:
        """Verify the signed challenge or mTLS certificate; raise UpstreamRejected."""


@runtime_checkable
class Enricher(Protocol):
    id: str

    def enrich(self, identity: Identity) -> Identity:
        """Return the identity with verified claims added (for example from the population registry)."""


@runtime_checkable
class EvidenceVerifier(Protocol):
    id: str

    def verify(self, identity: Identity, evidence: Mapping[str, Any]) -> Identity:
        """Verify evidence (for example chip data, ICAO 9303 passive authentication) and return
        the identity with it recorded and, where justified, a higher acr."""


@dataclass(frozen=True)
class FaceMatch:
    """A face comparison: ``matched`` by the matcher's own threshold, its ``score`` in [0, 1], the
    ``method`` (for the evidence and the audit trail). Never the images."""

    matched: bool
    score: float
    method: str


@runtime_checkable
class FaceMatcher(Adapter, Protocol):
    """Compares the chip's face image (DG2) with a live capture of the holder (a selfie)."""

    def compare(self, document_face: bytes, live_face: bytes) -> FaceMatch:
        """Compare the two images; raise SourceUnavailable when the matching service does not answer.
        Neither image may be kept or logged."""


@dataclass(frozen=True)
class RegistryAnswer:
    """The population registry's (or C06 verification service's) answer about one card:
    ``genuine`` (it issued a card with these data), ``current`` (the card is the person's valid
    one: not replaced, not reported lost), ``reference`` (its transaction id, for the audit trail),
    ``checked_at`` (epoch seconds)."""

    genuine: bool
    current: bool
    reference: str
    checked_at: int


@runtime_checkable
class RegistryCheck(Adapter, Protocol):
    """Asks the population registry whether a chip card's data are genuine and current."""

    def check(self, card: Mapping[str, str]) -> RegistryAnswer:
        """``card``: ``id_number``, ``full_name``, ``date_of_birth`` and ``issue_date`` (ISO dates);
        raise SourceUnavailable when the registry does not answer."""


#: Where an entitlement came from: the sign-in's upstream listed it (the national portal's list),
#: the person's certificate names the organisation's tax code.
UPSTREAM, CERTIFICATE = "upstream", "certificate"


@dataclass(frozen=True)
class OrganisationEntitlement:
    """An organisation a person may act for, as a source of entitlements states it: its tax code
    (mã số thuế, the key), name and organisation e-ID number, the person's ``role`` there
    (``representative``: its legal representative; ``employee``), and the ``source`` that says so
    (:data:`UPSTREAM`, :data:`CERTIFICATE`)."""

    tax_code: str
    name: str
    org_eid: str | None = None
    role: str = "employee"
    source: str = UPSTREAM


@runtime_checkable
class OrganisationEntitlements(Protocol):
    """A source of the organisations a signed-in person may act for: an upstream's own list given
    at sign-in (the national portal's), a registry. Deny by default: a source that does not know
    answers nothing, and nobody acts for an organisation no source names."""

    def entitlements(self, identity: Identity) -> tuple[OrganisationEntitlement, ...]:
        """The organisations ``identity`` (a person, never an organisation's account) may act for."""


#: Where an adapter records, at sign-in, the organisations the person may act for (a list of
#: :class:`OrganisationEntitlement` fields), for :func:`recorded_entitlements` to read.
ENTITLEMENTS_EVIDENCE = "organisations"


def recorded_entitlements(adapter_id: str, identity: Identity) -> tuple[OrganisationEntitlement, ...]:
    """The organisations adapter ``adapter_id`` recorded at ``identity``'s sign-in through it
    (``identity.evidence``, :data:`ENTITLEMENTS_EVIDENCE`); none for another adapter's identity."""
    if identity.adapter_id != adapter_id:
        return ()
    return tuple(OrganisationEntitlement(**entry) for entry in identity.evidence.get(ENTITLEMENTS_EVIDENCE) or ())
