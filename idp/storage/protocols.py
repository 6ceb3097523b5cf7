"""Narrow protocols of the durable store. Each consumer asks only for the one it needs.

Updates that can race take an *updater*: a pure function from the stored record to the new
record. The store re-reads and re-runs it when another writer got there first (compare-and-swap
on ``version``), so concurrent writers never lose each other's changes.

A refresh-token rotation (:meth:`GrantStore.use_refresh_token`) takes a :class:`Successor` and
answers a :class:`RefreshUse`: the use of the presented token, the storing of its successor and the
read of the person behind the grant happen together (one statement on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from idp.storage.models import (
    Account,
    Client,
    Consent,
    Grant,
    IdentityLink,
    RefreshToken,
    SigningKeyRecord,
    Subject,
)


class ClientStore(Protocol):
    def add(self, client: Client) -> Client:
        """Store a new client; raise AlreadyExists when the id is taken."""

    def get(self, client_id: str) -> Client | None:
        """The client, or None."""

    def list(self) -> Sequence[Client]:
        """Every client, ordered by id."""

    def update(self, client_id: str, updater: Callable[[Client], Client]) -> Client:
        """Apply ``updater`` with compare-and-swap; raise NotFound for an unknown id."""

    def remove(self, client_id: str) -> bool:
        """Delete the client (and its consents and grants); False when it did not exist."""


class SubjectStore(Protocol):
    def add(self, subject: Subject) -> Subject:
        """Store a new subject; AlreadyExists on a duplicate id or personal-ID hash."""

    def get(self, subject_id: str) -> Subject | None: ...

    def get_by_personal_id_hash(self, personal_id_hash: str) -> Subject | None: ...

    def find_by_name(self, text: str, limit: int) -> Sequence[Subject]:
        """Subjects whose ``name`` claim contains ``text`` (an administrator's search)."""

    def update(self, subject_id: str, updater: Callable[[Subject], Subject]) -> Subject:
        """Compare-and-swap update; NotFound for an unknown id."""


class AccountStore(Protocol):
    def add(self, account: Account) -> Account:
        """Store a new local account; AlreadyExists when the username is taken."""

    def get(self, account_id: str) -> Account | None: ...

    def get_by_username(self, username: str) -> Account | None:
        """Look up by username (case-insensitive: usernames are stored lower-cased)."""

    def get_by_subject(self, subject_id: str) -> Account | None: ...

    def list(self) -> Sequence[Account]: ...

    def update(self, account_id: str, updater: Callable[[Account], Account]) -> Account:
        """Compare-and-swap update; NotFound for an unknown id."""


class IdentityLinkStore(Protocol):
    def add(self, link: IdentityLink) -> IdentityLink:
        """Link an external identity; AlreadyExists when (adapter, external_subject) is linked."""

    def find(self, adapter: str, external_subject: str) -> IdentityLink | None: ...

    def list_for_subject(self, subject_id: str) -> Sequence[IdentityLink]: ...

    def record_login(self, link_id: str, claims: dict[str, Any], at: datetime) -> None:
        """Remember the claims and time of the latest sign-in through this link."""

    def update_claims(self, link_id: str, claims: dict[str, Any]) -> None:
        """Remember what the source says about the identity now, seen without a sign-in."""


class ConsentStore(Protocol):
    def get(self, subject_id: str, client_id: str) -> Consent | None: ...

    def grant(self, subject_id: str, client_id: str, scopes: set[str], claims: set[str] = ...) -> Consent:
        """Add scopes and claims to what the person allowed the client (merging, race-free)."""

    def withdraw(self, subject_id: str, client_id: str) -> bool:
        """Forget the consent; False when there was none."""

    def list_for_subject(self, subject_id: str) -> Sequence[Consent]: ...


@dataclass(frozen=True)
class Successor:
    """The refresh token that replaces the presented one, stored by the rotation itself: under the
    presented token's grant, expiring with that grant, only when the grant is active and belongs
    to ``client_id`` (the authenticated client; otherwise the request is refused anyway)."""

    token_hash: str
    client_id: str
    dpop_jkt: str | None = None  # a public client's successor is bound to its DPoP key (RFC 9449 §5)


@dataclass(frozen=True)
class RefreshUse:
    """What :meth:`GrantStore.use_refresh_token` found and did (see there for ``status``)."""

    status: str
    grant: Grant | None = None
    token: RefreshToken | None = None
    successor: RefreshToken | None = None  # the stored successor; None when none was stored
    subject: Subject | None = None  # the grant's subject when it was read with the claim (PostgreSQL)


class GrantStore(Protocol):
    def create(self, grant: Grant) -> Grant: ...

    def create_if_absent(self, grant: Grant) -> Grant:
        """Store the grant unless one with its id exists; return the stored grant."""
        ...

    def open_with_refresh_token(self, grant: Grant, token_hash: str, *, dpop_jkt: str | None = None) -> Grant:
        """A code's first refresh token: store ``grant`` unless one with its id exists, and the
        token under the stored grant (expiring with it) only if that grant is active and belongs to
        ``grant.client_id``; return the stored grant (the caller refuses an inactive or foreign one:
        then no token was stored). One statement on PostgreSQL."""
        ...

    def get(self, grant_id: str) -> Grant | None: ...

    def revoke(self, grant_id: str, reason: str) -> bool:
        """Revoke the grant and its refresh tokens; False when it was already revoked or unknown."""

    def list_active_for_sid(self, sid: str) -> Sequence[Grant]: ...

    def list_active_for_subject(self, subject_id: str) -> Sequence[Grant]: ...

    def add_refresh_token(self, token: RefreshToken) -> None: ...

    def discard_refresh_token(self, token_hash: str) -> None:
        """Delete a refresh token that was stored but never handed out (a rotation's successor
        when the response carries no refresh token)."""

    def use_refresh_token(self, token_hash: str, successor: Successor, *, dpop_jkt: str | None = None
                          ) -> RefreshUse:
        """Use a refresh token once (rotation), atomically, and store its successor.

        ``status`` "used" goes to the one caller that wins: with the grant, the token (now used)
        and the stored successor (None when the grant belongs to another client than the
        successor's: nothing is stored and the caller refuses). "reused" when it was already used
        (grant and token given; the caller must revoke the grant: a replayed refresh token means
        it leaked); "wrong_key" when the token is bound to another DPoP key than ``dpop_jkt`` (not
        consumed); "invalid" (nothing else) for an unknown or expired token, or one whose grant is
        revoked or expired (an unused one is consumed all the same). Only "used" stores a successor.
        ``subject`` is the grant's subject as read with the claim, or None when it was not read
        (SQLite) or does not exist.
        """

    def settle_rotation(self, token_hash: str, successor_hash: str) -> bool:
        """Settle a rotation of ``token_hash`` to ``successor_hash`` whose response never left: a
        backend failed after the claim, or the claim itself got no answer (a frozen database may
        still run it when it resumes). Atomically, either the successor's hash is taken by a used,
        expired row, so that a claim still in flight fails when it runs, or, when the claim did
        commit, the successor (if still unused) is deleted and the presented token made usable
        again. True when a rotation was undone. Safe for replay detection: nobody was given the
        successor, and a concurrent replay of the presented token was already seen as one."""

    def find_refresh_token(self, token_hash: str) -> RefreshToken | None: ...


class SigningKeyStore(Protocol):
    def add(self, record: SigningKeyRecord) -> SigningKeyRecord:
        """Store a new key; AlreadyExists on a duplicate kid."""

    def get(self, kid: str) -> SigningKeyRecord | None: ...

    def list(self) -> Sequence[SigningKeyRecord]:
        """Every key, oldest first."""

    def update(self, kid: str, updater: Callable[[SigningKeyRecord], SigningKeyRecord]) -> SigningKeyRecord:
        """Compare-and-swap update; NotFound for an unknown kid."""
