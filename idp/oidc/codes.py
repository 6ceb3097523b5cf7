"""Authorization codes (RFC 6749 §4.1.2, §10.5; OAuth Security BCP §4.5).

A code is 256 random bits, stored only as its SHA-256 in the short-lived store, lives
``code_ttl`` seconds (60 by default), is bound to the client, redirect URI and PKCE challenge,
and is consumed atomically. A redeemed code leaves a marker naming its grant: a second
redemption is refused AND revokes every token issued from the first (§4.1.2).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from idp.oidc.tokens import Authorization, hash_token
from idp.storage.ephemeral import EphemeralStore
from idp.storage.ephemeral.base import shallow_record

CODE_KIND = "code"
REDEEMED_KIND = "code_redeemed"


@dataclass(frozen=True)
class AuthorizationCode:
    """What a code stands for; also authlib's AuthorizationCodeMixin."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    subject_id: str
    grant_id: str
    sid: str | None = None
    auth_time: int | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    nonce: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    released_claims: tuple[str, ...] = ()
    #: The organisation the person acts for (idp.oidc.acting), chosen for this authorization.
    acting_for: dict[str, Any] | None = None

    # authlib's AuthorizationCodeMixin
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return " ".join(self.scopes)

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int | None:
        return self.auth_time

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list[str]:
        return list(self.amr)

    def authorization(self) -> Authorization:
        return Authorization(
            client_id=self.client_id, scopes=self.scopes, subject_id=self.subject_id, grant_id=self.grant_id,
            sid=self.sid, auth_time=self.auth_time, acr=self.acr, amr=self.amr, nonce=self.nonce,
            claims=self.claims, released_claims=self.released_claims, acting_for=self.acting_for,
        )


@dataclass(frozen=True)
class Redemption:
    """The outcome of presenting a code: the code, or the grant a replay must revoke."""

    code: AuthorizationCode | None
    replayed_grant_id: str | None = None


class CodeStore:
    def __init__(self, store: EphemeralStore, *, ttl: int, redeemed_ttl: int) -> None:
        self.store = store
        self.ttl = ttl
        self.redeemed_ttl = redeemed_ttl

    def issue(self, code: AuthorizationCode) -> str:
        value = secrets.token_urlsafe(32)
        record = shallow_record(code)
        record["scopes"], record["amr"] = list(code.scopes), list(code.amr)
        record["released_claims"] = list(code.released_claims)
        self.store.upsert(CODE_KIND, hash_token(value), record, self.ttl)
        return value

    def redeem(self, value: str) -> Redemption:
        """Consume the code (one caller wins) and leave its redemption marker, in one round trip;
        report a replay with the grant to revoke."""
        if not value or len(value) > 256:
            return Redemption(None)
        record, marker = self.store.consume_marking(CODE_KIND, hash_token(value), marker_kind=REDEEMED_KIND,
                                                    keep="grant_id", marker_ttl=self.redeemed_ttl)
        if record is None:
            return Redemption(None, marker["grant_id"] if marker else None)
        return Redemption(AuthorizationCode(**{**record, "scopes": tuple(record["scopes"]),
                                               "amr": tuple(record["amr"]),
                                               "released_claims": tuple(record["released_claims"])}))
