"""Refresh-token rotation (RFC 6749 §6, Security BCP §4.14): every use hands out a successor; a
reused token revokes its whole grant; the client's policy and the person's directory accounts are
checked again at each refresh. A rotation whose response never left (a backend unavailable during
or after the claim: the client gets 503 and will retry) is settled (:mod:`idp.oidc.settlement`),
so the retry is not taken for a replay."""

from __future__ import annotations

import dataclasses
import time

from idp.audit.events import AuditContext
from idp.errors import GrantRefused
from idp.oidc.client_policies import ClientPolicies
from idp.oidc.person_claims import PersonClaims
from idp.oidc.recheck import DirectoryRecheck
from idp.oidc.records import RefreshTokenRecord
from idp.oidc.revocation import GrantRevoker
from idp.oidc.settlement import RotationSettlement
from idp.oidc.subject_ids import SubjectIdentifiers
from idp.oidc.tokens import hash_token, new_refresh_token
from idp.storage.models import Client, Grant
from idp.storage.protocols import RefreshUse, Successor
from idp.storage.sql import SqlStorage
from policies.loa import parse_acr
from policies.tokens import refresh_denial, release_for_refresh

MAX_REFRESH_TOKEN_CHARS = 256


class RefreshRotator:
    def __init__(self, *, issuer: str, storage: SqlStorage, grants: GrantRevoker, policies: ClientPolicies,
                 subject_ids: SubjectIdentifiers, person_claims: PersonClaims, recheck: DirectoryRecheck,
                 settlement: RotationSettlement) -> None:
        self._issuer = issuer
        self._storage = storage
        self._grants = grants
        self._policies = policies
        self._subject_ids = subject_ids
        self._person_claims = person_claims
        self._recheck = recheck
        self._settlement = settlement

    def use_refresh_token(self, value: str, client: Client, *, dpop_jkt: str | None = None,
                          context: AuditContext | None = None) -> RefreshTokenRecord | None:
        """Rotate a presented refresh token for ``client`` (authenticated already). The successor
        is made first and stored with the claim, bound like the response's tokens (a public
        client's to its DPoP key, RFC 9449 §5); the record carries it for the response. On
        PostgreSQL that is one statement, which also reads the person: their current claims are
        remembered for this request. A refusal after the claim (the policy) revokes the grant, and
        the successor with it. The directory re-check then runs (GrantRefused when it refuses). Any
        other failure after the claim undoes it (:meth:`restore`) before it propagates."""
        if not value or len(value) > MAX_REFRESH_TOKEN_CHARS:
            return None
        presented = hash_token(value)
        use, successor = self._claim(presented, client, dpop_jkt)
        if use.status == "reused" and self._settlement.settle_marked(presented):
            use, successor = self._claim(presented, client, dpop_jkt)  # a rotation in doubt undone: afresh
        grant, token = use.grant, use.token
        if use.status == "reused" and grant is not None:
            self._grants.revoke_recorded(grant.id, "refresh_token_reused", "token.reuse_detected", context=context,
                                         outcome="failure", reason="refresh_token_reused",
                                         client_id=grant.client_id, subject=grant.subject_id,
                                         details={"grant_id": grant.id})
            return None
        if use.status != "used" or grant is None or token is None or use.successor is None:
            return None  # no successor: the grant is another client's (refused as before)
        record = RefreshTokenRecord(token=token, grant=grant, sub="", issuer=self._issuer,
                                    successor=successor)
        try:
            checked = self._under_policy(grant, context)
            if checked is None:
                return None
            if use.subject is not None:
                self._person_claims(use.subject.id, use.subject)
            sub = self._subject_ids.for_client(checked.subject_id, client) if checked.subject_id else client.client_id
            self._recheck.at_refresh(checked, context)
        except GrantRefused:
            raise
        except Exception:
            self.restore(record)
            raise
        return dataclasses.replace(record, grant=checked, sub=sub)

    def _claim(self, presented: str, client: Client, dpop_jkt: str | None) -> tuple[RefreshUse, str]:
        """The storage's claim of token hash ``presented`` with a new successor, and the
        successor's value. A claim that gets no answer may still commit: it is settled before the
        failure propagates."""
        successor = new_refresh_token()
        bound_to = dpop_jkt if client.is_public else None
        try:
            use = self._storage.grants.use_refresh_token(
                presented, Successor(hash_token(successor), client.client_id, bound_to), dpop_jkt=dpop_jkt)
        except Exception:
            self._settlement.in_doubt(presented, hash_token(successor), database_answers=False)
            raise
        return use, successor

    def restore(self, record: RefreshTokenRecord) -> None:
        """Undo the rotation of ``record`` (the refresh failed before its response left: a backend
        was unavailable): its successor, never handed out, is deleted and the presented token can
        be used again, so the client's retry is a refresh, not a replay that revokes the grant. No
        grace window: a token whose successor was handed out is never restored. When the database
        cannot be reached to undo it now, it is settled as a rotation in doubt."""
        if record.successor is not None:
            self._settlement.in_doubt(record.token.token_hash, hash_token(record.successor))

    def _under_policy(self, grant: Grant, context: AuditContext | None) -> Grant | None:
        """The grant as the client's policy allows it now (a tightened policy or an expired
        step-up narrows or refuses the refresh); None when refused."""
        policy = self._policies.policy_for(grant.client_id)
        level = parse_acr(grant.acr, self._issuer) if grant.acr else None
        denial = refresh_denial(policy, acr=level)
        if denial is not None:
            self._grants.revoke_recorded(grant.id, "policy_refused_refresh", "token.refreshed", context=context,
                                         outcome="denied", client_id=grant.client_id, subject=grant.subject_id,
                                         reason=denial.reason, details={"grant_id": grant.id})
            return None
        requested = grant.claims.get("request") or {}
        names = {n for member in requested.values() if isinstance(member, dict) for n in member}
        release = release_for_refresh(policy, grant.scopes, names, acr=level, auth_time=grant.auth_time,
                                      now=int(time.time()))
        claims = {**grant.claims, "released": sorted(release.claims)}
        return dataclasses.replace(grant, scopes=release.scopes, claims=claims)
