"""Issuing and checking tokens: RFC 9068 JWT access tokens, OIDC ID tokens, opaque refresh tokens.

Access tokens are signed JWTs (``typ: at+jwt``). A person's token is also recorded in the
short-lived store under its ``jti`` with the grant it belongs to, so revoking a grant (logout,
refresh-token reuse, a replayed code) stops its access tokens at once, not only when they expire;
the record also carries what userinfo answers. A client's own token (client_credentials) belongs to
no grant and says everything in its claims: nothing is stored when it is issued, its ``jti`` starts
with :data:`SELF_CONTAINED` (``jti`` values are ours to shape; random ones never contain a dot), and
revoking it stores its ``jti`` in a deny list until it would have expired: in the database
(:class:`~idp.storage.sql.revoked_tokens.SqlRevokedClientTokens`), which outlives a Redis restart
that lost its data, and in the short-lived store, read first. A person's token whose record was lost
fails closed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from idp.ekyc.assurance import narrowed
from idp.oidc.acting import principal_id
from idp.oidc.claims import requested_in, select_claims
from idp.oidc.portal_claims import with_portal_names
from idp.oidc.subject_ids import SubjectIdentifiers
from idp.storage.ephemeral import EphemeralStore
from idp.storage.models import Client
from idp.storage.sql.revoked_tokens import SqlRevokedClientTokens
from idp.web import request_scope
from idp.web.threads import run_blocking
from keys.errors import InvalidToken
from keys.jwt import encode_jwt
from keys.ring import KeyRing
from keys.verify import check_time_claims

ACCESS_TOKEN_KIND = "at"
REVOKED_KIND = "at_revoked"
SELF_CONTAINED = "cc."


@dataclass(frozen=True)
class Authorization:
    """Who authorised what, carried from the sign-in to every token issued under it.

    ``subject_id`` is None for client_credentials. ``grant_id`` groups every token of one
    authorisation (revoked together)."""

    client_id: str
    scopes: tuple[str, ...]
    subject_id: str | None = None
    grant_id: str | None = None
    sid: str | None = None
    auth_time: int | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    nonce: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    released_claims: tuple[str, ...] = ()
    #: The organisation the person acts for in this authorization (idp.oidc.acting), or None.
    acting_for: dict[str, Any] | None = None


@dataclass(frozen=True)
class AccessTokenInfo:
    """A verified, unrevoked access token."""

    jti: str
    client_id: str
    scopes: tuple[str, ...]
    subject_id: str | None
    sub: str
    grant_id: str | None
    claims_request: dict[str, Any]
    released_claims: tuple[str, ...]
    expires_at: int
    issued_at: int
    cnf: dict[str, Any] | None = None
    userinfo: dict[str, Any] | None = None  # the claims userinfo answers, fixed when the token was issued


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def half_hash(value: str, alg: str) -> str:
    """``at_hash`` (OIDC Core §3.1.3.6): left half of the hash that matches the signing alg."""
    digest = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}
    hash_fn = digest.get(alg[-3:], hashlib.sha256) if alg != "EdDSA" else hashlib.sha512
    raw = hash_fn(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(raw[: len(raw) // 2]).rstrip(b"=").decode()


class TokenService:
    def __init__(self, *, issuer: str, ring: KeyRing, ephemeral: EphemeralStore, subject_ids: SubjectIdentifiers,
                 access_ttl: int, id_token_ttl: int, revoked: SqlRevokedClientTokens | None = None) -> None:
        self.issuer = issuer
        self.revoked = revoked
        self.ring = ring
        self.ephemeral = ephemeral
        self.subject_ids = subject_ids
        self.access_ttl = access_ttl
        self.id_token_ttl = id_token_ttl

    def sub_for(self, authorization: Authorization, client: Client) -> str:
        """The token's subject: the client itself, the person, or the organisation they act for."""
        if authorization.subject_id is None:
            return client.client_id
        if authorization.acting_for is not None:
            return self.subject_ids.for_client(principal_id(authorization.acting_for), client)
        return self.subject_ids.for_client(authorization.subject_id, client)

    def actor(self, authorization: Authorization, client: Client) -> dict[str, Any] | None:
        """``act`` (RFC 8693 §4.1) when the person acts for an organisation: their own ``sub``."""
        if authorization.acting_for is None or authorization.subject_id is None:
            return None
        return {"sub": self.subject_ids.for_client(authorization.subject_id, client)}

    def access_token(self, authorization: Authorization, client: Client, *, cnf: dict[str, Any] | None = None,
                     expires_in: int | None = None, userinfo: dict[str, Any] | None = None) -> tuple[str, int]:
        """A signed JWT access token and its lifetime in seconds."""
        now = int(time.time())
        ttl = expires_in or self.access_ttl
        self_contained = authorization.subject_id is None and authorization.grant_id is None
        jti = (SELF_CONTAINED if self_contained else "") + secrets.token_urlsafe(16)
        claims: dict[str, Any] = {
            "iss": self.issuer, "sub": self.sub_for(authorization, client), "aud": self.issuer,
            "client_id": client.client_id, "scope": " ".join(authorization.scopes),
            "iat": now, "exp": now + ttl, "jti": jti,
        }
        for name in ("sid", "auth_time", "acr"):
            if getattr(authorization, name) is not None:
                claims[name] = getattr(authorization, name)
        if (act := self.actor(authorization, client)) is not None:
            claims["act"] = act
        if cnf:
            claims["cnf"] = cnf
        signer = self.ring.signer(client.extra.get("access_token_signed_response_alg"))
        if self_contained:
            return encode_jwt(signer, claims, typ="at+jwt"), ttl
        record = {
            "client_id": client.client_id, "subject_id": authorization.subject_id, "scopes": list(authorization.scopes),
            "grant_id": authorization.grant_id, "claims": authorization.claims, "sub": claims["sub"],
            "released": list(authorization.released_claims),
            "userinfo": userinfo,
            "exp": now + ttl, "iat": now,
        }
        self.ephemeral.upsert(ACCESS_TOKEN_KIND, jti, record, ttl, grant_id=authorization.grant_id)
        token = encode_jwt(signer, claims, typ="at+jwt")
        self.ring.remember_issued(token, signer, typ="at+jwt", claims=claims)  # userinfo follows at once
        return token, ttl

    def id_token(self, authorization: Authorization, client: Client, *, access_token: str | None,
                 user_claims: dict[str, Any]) -> str:
        """An ID token (OIDC Core §2): what actually happened at sign-in, and the claims the
        ``claims`` parameter asked for in the ID token (already filtered by policy)."""
        now = int(time.time())
        signer = self.ring.signer(client.extra.get("id_token_signed_response_alg"))
        claims: dict[str, Any] = {
            "iss": self.issuer, "sub": self.sub_for(authorization, client), "aud": client.client_id,
            "azp": client.client_id, "iat": now, "exp": now + self.id_token_ttl,
        }
        for name in ("auth_time", "acr", "sid", "nonce"):
            if getattr(authorization, name) is not None:
                claims[name] = getattr(authorization, name)
        if authorization.amr:
            claims["amr"] = list(authorization.amr)
        if (act := self.actor(authorization, client)) is not None:
            claims["act"] = act
        if access_token:
            claims["at_hash"] = half_hash(access_token, signer.alg)
        wanted = requested_in(authorization.claims, "id_token") & set(authorization.released_claims)
        selected = narrowed(select_claims(user_claims, wanted - set(claims)), authorization.claims, "id_token")
        claims.update(with_portal_names(selected, client.extra))
        return encode_jwt(signer, claims, typ="JWT")

    def check_access_token(self, token: str) -> AccessTokenInfo:
        """Verify signature, type, issuer, expiry, and that it was not revoked. InvalidToken otherwise."""
        known = request_scope.checked_outcome(token)
        if known is not None:  # checked already, on the loop (see checked_before)
            return _answer(known)
        jti, claims = self._verified(token)
        record = self.ephemeral.find(*_state_key(jti))
        if record is None and self._durably_denied(jti):
            record = _DENIED
        return self._info(jti, claims, record)

    async def check_access_token_on_loop(self, token: str) -> AccessTokenInfo:
        """:meth:`check_access_token` on the event loop: its store reads awaited, not blocking."""
        jti, claims = self._verified(token)
        record = await self.ephemeral.find_on_loop(*_state_key(jti))
        if record is None and jti.startswith(SELF_CONTAINED) and await run_blocking(self._durably_denied, jti):
            record = _DENIED
        return self._info(jti, claims, record)

    def _durably_denied(self, jti: str) -> bool:
        """Whether a client's own token is on the database's deny list."""
        return jti.startswith(SELF_CONTAINED) and self.revoked is not None and self.revoked.is_revoked(jti)

    @staticmethod
    @contextlib.contextmanager
    def checked_before(token: str, outcome: AccessTokenInfo | InvalidToken) -> Iterator[None]:
        """Inside the block, :meth:`check_access_token` of ``token`` answers ``outcome`` (found by
        :meth:`check_access_token_on_loop` just before) without reading the store again: for
        synchronous library code (authlib's introspection endpoint) run on the event loop."""
        with request_scope.checked_before(token, outcome):
            yield

    def _verified(self, token: str) -> tuple[str, dict[str, Any]]:
        """The ``jti`` and claims of a token whose signature, type, issuer, audience and times hold."""
        _header, claims = self.ring.verify_jwt(token, typ="at+jwt", remember=True)
        check_time_claims(claims)
        if claims.get("iss") != self.issuer or claims.get("aud") != self.issuer:
            raise InvalidToken("wrong_issuer", "not issued by this provider for its own resources")
        jti = claims.get("jti")
        if not isinstance(jti, str):
            raise InvalidToken("revoked", "the access token was revoked")
        return jti, claims

    @staticmethod
    def _info(jti: str, claims: dict[str, Any], record: dict[str, Any] | None) -> AccessTokenInfo:
        """The token's information from its claims and the record read under :func:`_state_key`:
        a person's token needs its record; a client's own token must not be on the deny list."""
        if jti.startswith(SELF_CONTAINED):
            if record is not None:
                raise InvalidToken("revoked", "the access token was revoked")
            return AccessTokenInfo(
                jti=jti, client_id=str(claims.get("client_id")), scopes=tuple(str(claims.get("scope", "")).split()),
                subject_id=None, sub=str(claims.get("sub")), grant_id=None, claims_request={}, released_claims=(),
                expires_at=int(claims["exp"]), issued_at=int(claims.get("iat", 0)), cnf=claims.get("cnf"),
            )
        if record is None:
            raise InvalidToken("revoked", "the access token was revoked")
        return AccessTokenInfo(
            jti=jti,
            client_id=record["client_id"], scopes=tuple(record["scopes"]), subject_id=record["subject_id"],
            sub=record["sub"], grant_id=record["grant_id"], claims_request=record.get("claims") or {},
            released_claims=tuple(record.get("released") or ()), userinfo=record.get("userinfo"),
            expires_at=int(claims["exp"]), issued_at=int(claims.get("iat", 0)), cnf=claims.get("cnf"),
        )

    def revoke_access_token(self, info: AccessTokenInfo) -> None:
        if info.jti.startswith(SELF_CONTAINED):
            ttl = info.expires_at - int(time.time()) + 1
            if ttl > 0 and self.revoked is not None:
                self.revoked.revoke(info.jti, info.client_id, datetime.fromtimestamp(info.expires_at + 1, UTC))
            if ttl > 0:
                self.ephemeral.upsert(REVOKED_KIND, info.jti, {"client_id": info.client_id}, ttl)
            return
        self.ephemeral.destroy(ACCESS_TOKEN_KIND, info.jti)


#: What a deny-list entry found only in the database reads as.
_DENIED: dict[str, Any] = {"revoked": True}


def _state_key(jti: str) -> tuple[str, str]:
    """Where a token's state lives: a client's own token on the deny list, a person's in its record."""
    return (REVOKED_KIND if jti.startswith(SELF_CONTAINED) else ACCESS_TOKEN_KIND), jti


def _answer(outcome: AccessTokenInfo | InvalidToken) -> AccessTokenInfo:
    if isinstance(outcome, InvalidToken):
        raise outcome
    return outcome


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)
