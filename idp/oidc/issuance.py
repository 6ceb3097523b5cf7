"""Issuing a token response's tokens and storing what they need (the token endpoint's generator)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from idp.audit.events import AuditContext
from idp.errors import GrantRefused
from idp.oidc.acting import organisation_claims
from idp.oidc.person_claims import PersonClaims
from idp.oidc.portal_claims import with_portal_names
from idp.oidc.revocation import GrantRevoker
from idp.oidc.tokens import Authorization, TokenService, hash_token, new_refresh_token
from idp.oidc.userinfo import userinfo_claims
from idp.storage.ephemeral import EphemeralStore
from idp.storage.models import Client, Grant, utcnow
from idp.storage.sql import SqlStorage
from policies.claims import legal_basis


class TokenIssuer:
    def __init__(self, *, storage: SqlStorage, ephemeral: EphemeralStore, tokens: TokenService,
                 person_claims: PersonClaims, grants: GrantRevoker, refresh_ttl: int) -> None:
        self._storage = storage
        self._ephemeral = ephemeral
        self._tokens = tokens
        self._person_claims = person_claims
        self._grants = grants
        self._refresh_ttl = refresh_ttl

    def generate_token(self, client: Client, user: Authorization | None, scope: str | None, *,
                       include_refresh_token: bool = True, dpop_jkt: str | None = None,
                       successor: str | None = None) -> dict[str, Any]:
        """An RFC 9068 access token, and a refresh token for offline access (or trusted first-party
        clients): ``successor`` when a rotation stored it already. With ``dpop_jkt`` the access
        token is DPoP-bound (``cnf.jkt``, ``token_type: DPoP``; RFC 9449 §6)."""
        scopes = tuple((scope or "").split())
        if user is None:
            authorization = Authorization(client_id=client.client_id, scopes=scopes)
        else:
            authorization = Authorization(**{**user.__dict__, "scopes": scopes or user.scopes})
        snapshot = None
        if authorization.subject_id is not None and "openid" in authorization.scopes:
            # What userinfo will answer, fixed at issuance: userinfo then needs no database read.
            snapshot = with_portal_names(
                userinfo_claims(self._subject_claims(authorization), authorization.scopes,
                                authorization.claims, allowed=set(authorization.released_claims)), client.extra)
        access_token, ttl = self._tokens.access_token(authorization, client,
                                                      cnf={"jkt": dpop_jkt} if dpop_jkt else None, userinfo=snapshot)
        token: dict[str, Any] = {"access_token": access_token, "token_type": "DPoP" if dpop_jkt else "Bearer",
                                 "expires_in": ttl, "scope": " ".join(authorization.scopes)}
        offline = "offline_access" in authorization.scopes or client.trusted
        if include_refresh_token and offline and authorization.subject_id is not None:
            token["refresh_token"] = successor or new_refresh_token()
        return token

    def save_token(self, token: dict[str, Any], *, client: Client, authorization: Authorization | None,
                   grant_type: str, successor: str | None, dpop_jkt: str | None,
                   context: AuditContext | None) -> None:
        """Store the refresh token (creating its grant on first issuance), then record the event. A
        rotation stored its ``successor`` with the claim: nothing to store, but a successor the
        response does not carry (its scopes no longer give offline access) is deleted.

        The state commits first, in its own short statement or transaction; the event then goes
        through the audit log's group commit (:class:`~idp.audit.batching.AuditBatcher`), and this
        returns only once the event is committed: no token response leaves without its durable
        event, and no request holds the audit chain's head lock. Trade-off: a crash between the two
        commits leaves a refresh token row that was never handed out (nobody can present it; it
        expires with its grant) and no event for it. Likewise a rotation refused after its claim
        (``invalid_scope``) or failing before its response leaves a successor nobody was given.
        GrantRefused when the grant was revoked since the code was issued.
        """
        refresh = token.get("refresh_token")
        grant_id = authorization.grant_id if authorization is not None else None
        if successor is not None and refresh != successor:
            self._storage.grants.discard_refresh_token(hash_token(successor))
        if refresh and authorization is not None and grant_id and successor is None:
            bound_to = dpop_jkt if client.is_public else None  # RFC 9449 §5
            self._open_grant(authorization, client, hash_token(refresh), bound_to)
        person = authorization if authorization is not None and authorization.subject_id else None
        self._grants.record(
            "token.refreshed" if grant_type == "refresh_token" else "token.issued", context=context,
            client_id=client.client_id, subject=person.subject_id if person else None,
            acr=person.acr if person else None, amr=person.amr if person else None,
            details={"grant_type": grant_type, "scope": token.get("scope", ""),
                     "refresh_token": bool(refresh), **({"grant_id": grant_id} if grant_id else {}),
                     **(release_record(person.released_claims, token.get("scope", ""), client.trusted)
                        if person else {})},
        )

    def _open_grant(self, authorization: Authorization, client: Client, refresh_hash: str,
                    bound_to: str | None) -> None:
        """Store a code's first refresh token under the authorization's grant, creating the grant
        (an SSO session's later code for the same client reuses it): one statement on PostgreSQL. A
        grant revoked since the code was issued refuses the request (no token is stored), and the
        access token just recorded under it goes with it."""
        assert authorization.grant_id is not None
        grant = self._storage.grants.open_with_refresh_token(Grant(
            id=authorization.grant_id, client_id=client.client_id, subject_id=authorization.subject_id,
            scopes=authorization.scopes, sid=authorization.sid,
            claims={"request": authorization.claims, "released": list(authorization.released_claims),
                    **({"acting_for": authorization.acting_for} if authorization.acting_for else {})},
            acr=authorization.acr, amr=authorization.amr, auth_time=authorization.auth_time,
            expires_at=utcnow() + timedelta(seconds=self._refresh_ttl),
        ), refresh_hash, dpop_jkt=bound_to)
        if not grant.active or grant.client_id != client.client_id:
            self._ephemeral.revoke_by_grant(grant.id)
            raise GrantRefused("the authorization was revoked")
        if grant.claims.get("acting_for") != authorization.acting_for:
            # Another code of the session, with another choice of whom the person acts for
            # (idp.oidc.acting), opened this grant first: a refresh token here would speak for the
            # other principal. None is handed out.
            self._storage.grants.discard_refresh_token(refresh_hash)
            raise GrantRefused("the authorization was replaced")

    def _subject_claims(self, authorization: Authorization) -> dict[str, Any]:
        """The claims about the token's subject: the person's, or the organisation's they act for."""
        if authorization.subject_id is None:
            return {}
        if authorization.acting_for is not None:
            return organisation_claims(authorization.acting_for)
        return self._person_claims(authorization.subject_id)

    def issue_id_token(self, authorization: Authorization, client: Client, access_token: str | None) -> str:
        claims = self._subject_claims(authorization)
        return self._tokens.id_token(authorization, client, access_token=access_token, user_claims=claims)


def release_record(claims: tuple[str, ...], scope: str, trusted_client: bool) -> dict[str, Any]:
    """What a token released about a person, for its audit event (and the person's own record of
    it): the claim names and the legal basis of each scope (policies.claims.legal_basis)."""
    return {"claims": sorted(claims),
            "legal_basis": {s: legal_basis(s, trusted_client) for s in scope.split() if s != "openid"}}
