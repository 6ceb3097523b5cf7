"""The OpenID Provider: the state and the operations the HTTP endpoints and authlib's grants use.

It owns no HTTP: endpoints read requests, call these methods, and render the answers.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidGrantError

from adapters.adapter_set import AdapterSet
from idp.audit.batching import commits_awaited_elsewhere
from idp.audit.events import AuditContext, AuditEvent, AuditLog
from idp.identity.claims import person_claims as decoded_claims
from idp.identity.protection import derive_identity_keys
from idp.oidc.claims import STANDARD_SCOPES
from idp.oidc.codes import AuthorizationCode, CodeStore
from idp.oidc.interaction import InteractionStore
from idp.oidc.records import AccessTokenRecord, RefreshTokenRecord
from idp.oidc.subject_ids import SubjectIdentifiers
from idp.oidc.tokens import Authorization, TokenService, hash_token, new_refresh_token
from idp.oidc.userinfo import subject_claims, userinfo_claims
from idp.security.throttle import ThrottleDecision
from idp.sessions import SessionStore, SsoSession
from idp.sessions.sealing import derive_session_key
from idp.settings import Settings
from idp.specs.authorization_request import AuthorizationRequest
from idp.storage.ephemeral import EphemeralStore
from idp.storage.models import Client, Grant, Subject, utcnow
from idp.storage.protocols import Successor
from idp.storage.sql import SqlStorage
from keys.errors import InvalidToken
from keys.ring import KeyRing
from policies.loa import acr_values_supported, parse_acr
from policies.tokens import refresh_denial, release_for_refresh

ACCOUNT_CLIENT_ID = "vnidp-account"
CONSOLE_CLIENT_ID = "vnidp-console"  # the security staff console: local accounts, two factors
RESTRICTED_SCOPES = ("vn_id", "vn_eid", "vn_org", "vn_official", "vn_cert")

log = logging.getLogger(__name__)
CLIENT_CACHE_SECONDS = 5.0
_request_memo: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("idp_memo", default=None)
# Set while a request is answered on the event loop (see Provider.on_the_loop).
_on_loop: contextvars.ContextVar[bool] = contextvars.ContextVar("idp_on_loop", default=False)


class Provider:
    def __init__(self, settings: Settings, storage: SqlStorage, ephemeral: EphemeralStore, ring: KeyRing,
                 audit: AuditLog, pairwise_salt: bytes, identity_secret: bytes) -> None:
        from idp.specs.oauth_server import OAuthServer

        self.settings = settings
        self.issuer = settings.issuer
        self.storage = storage
        self.ephemeral = ephemeral
        self.ring = ring
        self.audit = audit
        self.subject_ids = SubjectIdentifiers(pairwise_salt, is_public=self._public_sub)
        self.tokens = TokenService(
            issuer=self.issuer, ring=ring, ephemeral=ephemeral, subject_ids=self.subject_ids,
            access_ttl=settings.access_token_ttl_seconds, id_token_ttl=settings.id_token_ttl_seconds,
        )
        self.codes = CodeStore(ephemeral, ttl=settings.code_ttl_seconds,
                               redeemed_ttl=settings.code_ttl_seconds + settings.access_token_ttl_seconds)
        self.sessions = SessionStore(ephemeral, idle_seconds=settings.session_idle_seconds,
                                     absolute_seconds=settings.session_absolute_seconds,
                                     sealing_key=derive_session_key(identity_secret))
        self.interactions = InteractionStore(ephemeral)
        self.identity_keys = derive_identity_keys(identity_secret)
        self.adapters: Any = AdapterSet([])
        self.throttle: Any = None
        self.totp: Any = None
        self.policies: Any = None
        self.scopes_supported: tuple[str, ...] = STANDARD_SCOPES + RESTRICTED_SCOPES
        self.restricted_scopes: tuple[str, ...] = RESTRICTED_SCOPES
        self.acr_values_supported: tuple[str, ...] = tuple(acr_values_supported(self.issuer))
        self.demo_client_secrets: dict[str, str] = {}
        self._clients: dict[str, tuple[float, Client | None]] = {}
        self._client_reader = threading.Lock()  # one re-read of an expired client at a time
        self.client_keys: Any = None  # idp.clients.jwks.ClientKeys (issue 9 profile)
        self.dpop: Any = None  # idp.specs.rfc9449_dpop.DpopVerifier
        self.backchannel: Any = None  # idp.oidc.backchannel.BackchannelLogout
        self.server = OAuthServer(self)

    # -- clients ---------------------------------------------------------------------------------
    def find_client(self, client_id: str | None) -> Client | None:
        """The client, from a cache of a few seconds (token requests would otherwise read it each time).

        When a cached copy has just expired, one request re-reads it while the others keep using
        that copy for at most one more period: without this, every concurrent request misses at
        once and each opens its own database connection."""
        if not client_id or len(client_id) > 255:
            return None
        now = time.monotonic()
        cached = self._clients.get(client_id)
        if cached and (cached[0] > now or _on_loop.get()):
            return cached[1]
        stale_usable = cached is not None and cached[0] + CLIENT_CACHE_SECONDS > now
        if stale_usable and not self._client_reader.acquire(blocking=False):
            return cached[1]  # type: ignore[index]
        try:
            client = self.storage.clients.get(client_id)
            if len(self._clients) > 10_000:
                self._clients.clear()
            self._clients[client_id] = (time.monotonic() + CLIENT_CACHE_SECONDS, client)
            return client
        finally:
            if stale_usable:
                self._client_reader.release()

    def cached_client(self, client_id: str | None) -> Client | None:
        """The client if a fresh copy is cached (no I/O), else None."""
        cached = self._clients.get(client_id) if client_id else None
        return cached[1] if cached and cached[0] > time.monotonic() else None

    @staticmethod
    @contextlib.contextmanager
    def on_the_loop() -> Iterator[list[Future[None]]]:
        """For work done on the event loop, where nothing may block: audit events recorded inside
        are queued for the group commit instead of awaited (the caller awaits the futures it gets
        before answering), and a cached client is used even just past its period (no re-read)."""
        with commits_awaited_elsewhere() as waits:
            token = _on_loop.set(True)
            try:
                yield waits
            finally:
                _on_loop.reset(token)

    def forget_client(self, client_id: str) -> None:
        """Drop the cached copy after the client changed (registration update, removal)."""
        self._clients.pop(client_id, None)

    # -- audit -----------------------------------------------------------------------------------
    def record(self, event_type: str, request: Any = None, *, context: AuditContext | None = None,
               **fields: Any) -> None:
        """Record an audit event; ``request`` (an authlib request) or ``context`` says where from."""
        if context is None and request is not None:
            context = getattr(request, "extras", {}).get("audit_context")
        self.audit.record(AuditEvent(type=event_type, context=context or AuditContext(), **fields))

    # -- sign-in sources, assurance, throttling --------------------------------------------------
    def adapters_for(self, client_id: str) -> list[Any]:
        """The adapter entries a client's sign-in may use (policies decide; deny by default)."""
        allowed = self.allowed_adapters(client_id)
        return [entry for entry in self.adapters.entries if entry.id in allowed]

    def allowed_adapters(self, client_id: str) -> set[str]:
        return set(self.policy_for(client_id).adapters) & set(self.adapters.ids)

    def _public_sub(self, client: Client) -> bool:
        if client.extra.get("subject_type") == "public":
            return True
        return self.policies is not None and self.policy_for(client.client_id).subject_type == "public"

    def policy_for(self, client_id: str) -> Any:
        """The client's policy document (the built-in account pages may use every adapter)."""
        if client_id == ACCOUNT_CLIENT_ID:
            from policies.document import ClientPolicy

            return ClientPolicy(version=1, adapters=tuple(self.adapters.ids), scopes=("openid",))
        if client_id == CONSOLE_CLIENT_ID:
            from policies.document import ClientPolicy

            # Local staff accounts only; the console asks for the second factor itself, so a
            # person without one reaches its refusal page instead of the login form again.
            local = tuple(e.id for e in self.adapters.entries if e.type == "local")
            return ClientPolicy(version=1, adapters=local, scopes=("openid",))
        return self.policies.for_client(client_id)

    def acr_for(self, identity: Any, adapter_type: str) -> str:
        """The local acr URI of a sign-in (the adapter's mapping; the lowest it can justify)."""
        from idp.oidc.assurance import level_of

        return level_of(identity).uri(self.issuer)

    def throttle_check(self, username: str, ip: str | None) -> ThrottleDecision:
        """Whether sign-in attempts for this account or address may go ahead now (always, with no
        throttle); give the decision back to :meth:`throttle_success` after a success."""
        if self.throttle is None:
            return ThrottleDecision.ok()
        return self.throttle.check(username, ip)

    def throttle_failure(self, username: str, ip: str | None, *, context: AuditContext | None = None) -> None:
        if self.throttle is not None:
            self.throttle.record_failure(username, ip, context=context)

    def throttle_success(self, username: str, ip: str | None, checked: ThrottleDecision) -> None:
        if self.throttle is not None:
            self.throttle.record_success(username, ip, checked=checked)

    # -- authorization endpoint ------------------------------------------------------------------
    def issue_code(self, request: AuthorizationRequest, session: SsoSession, *, scopes: tuple[str, ...],
                   released_claims: tuple[str, ...], acr: str, amr: tuple[str, ...], auth_time: int) -> str:
        """A code for what the policy released and the sign-in actually achieved. The session's
        grant for this client is reused while it lives; one revoked (a reused refresh token, a
        replayed code) or expired is replaced, so the new code's tokens work."""
        grant_id = session.grants.get(request.client_id)
        if grant_id is not None:
            grant = self.storage.grants.get(grant_id)  # None: no refresh token yet, nothing stored
            if grant is not None and not grant.active:
                grant_id = None
        grant_id = grant_id or secrets.token_urlsafe(16)
        code = AuthorizationCode(
            client_id=request.client_id, redirect_uri=request.redirect_uri, scopes=scopes,
            code_challenge=request.code_challenge, subject_id=session.subject_id, grant_id=grant_id,
            sid=session.sid, auth_time=auth_time, acr=acr, amr=amr, nonce=request.nonce, claims=request.claims,
            released_claims=released_claims,
        )
        if session.grants.get(request.client_id) != grant_id:
            self.sessions.save(session.replace(grants={**session.grants, request.client_id: grant_id}))
        return self.codes.issue(code)

    # -- token endpoint (called by authlib's grants) ---------------------------------------------
    def redeem_code(self, value: str, request: Any, client_id: str | None = None) -> AuthorizationCode | None:
        redemption = self.codes.redeem(value)
        if redemption.replayed_grant_id:
            with self.storage.db.transaction():
                self.revoke_grant(redemption.replayed_grant_id, "code_replayed")
                client_id = client_id or request.payload.client_id  # the authenticated client (Basic auth too)
                self.record("token.reuse_detected", request, outcome="failure", reason="code_replayed",
                            client_id=client_id, details={"grant_id": redemption.replayed_grant_id})
        return redemption.code

    def use_refresh_token(self, value: str, request: Any) -> RefreshTokenRecord | None:
        """Rotate a presented refresh token for ``request.client`` (authenticated already). The
        successor is made first and stored with the claim, bound like the response's tokens (a
        public client's to its DPoP key, RFC 9449 §5); the record carries it for the response. On
        PostgreSQL that is one statement, which also reads the person: their current claims are
        remembered for this request. A refusal after the claim (the policy) revokes the grant, and
        the successor with it."""
        if not value or len(value) > 256:
            return None
        client = request.client.client
        dpop_jkt = request.extras.get("dpop_jkt")
        successor = new_refresh_token()
        bound_to = dpop_jkt if client.is_public else None
        use = self.storage.grants.use_refresh_token(
            hash_token(value), Successor(hash_token(successor), client.client_id, bound_to), dpop_jkt=dpop_jkt)
        status, grant, token = use.status, use.grant, use.token
        if status == "reused" and grant is not None:
            with self.storage.db.transaction():
                self.revoke_grant(grant.id, "refresh_token_reused")
                self.record("token.reuse_detected", request, outcome="failure", reason="refresh_token_reused",
                            client_id=grant.client_id, subject=grant.subject_id, details={"grant_id": grant.id})
            return None
        if status != "used" or grant is None or token is None or use.successor is None:
            return None  # no successor: the grant is another client's (refused as before)
        grant = self._refresh_under_policy(grant, request)
        if grant is None:
            return None
        if use.subject is not None:
            self.person_claims(use.subject.id, use.subject)
        sub = self.subject_ids.for_client(grant.subject_id, client) if grant.subject_id else client.client_id
        return RefreshTokenRecord(token=token, grant=grant, sub=sub, issuer=self.issuer, successor=successor)

    def _refresh_under_policy(self, grant: Grant, request: Any) -> Grant | None:
        """The grant as the client's policy allows it now (a tightened policy or an expired
        step-up narrows or refuses the refresh); None when refused."""
        policy = self.policy_for(grant.client_id)
        level = parse_acr(grant.acr, self.issuer) if grant.acr else None
        denial = refresh_denial(policy, acr=level)
        if denial is not None:
            with self.storage.db.transaction():  # a revocation: its event commits with it
                self.revoke_grant(grant.id, "policy_refused_refresh")
                self.record("token.refreshed", request, outcome="denied", client_id=grant.client_id,
                            subject=grant.subject_id, reason=denial.reason, details={"grant_id": grant.id})
            return None
        requested = grant.claims.get("request") or {}
        names = {n for member in requested.values() if isinstance(member, dict) for n in member}
        release = release_for_refresh(policy, grant.scopes, names, acr=level, auth_time=grant.auth_time,
                                      now=int(time.time()))
        claims = {**grant.claims, "released": sorted(release.claims)}
        return dataclasses.replace(grant, scopes=release.scopes, claims=claims)

    def generate_token(self, grant_type: str, client: Any, user: Authorization | None = None,
                       scope: str | None = None, expires_in: int | None = None,
                       include_refresh_token: bool = True, *, dpop_jkt: str | None = None,
                       successor: str | None = None) -> dict[str, Any]:
        """authlib's token generator: an RFC 9068 access token, and a refresh token for offline
        access (or trusted first-party clients): ``successor`` when a rotation stored it already.
        With ``dpop_jkt`` the access token is DPoP-bound (``cnf.jkt``, ``token_type: DPoP``; RFC 9449 §6)."""
        scopes = tuple((scope or "").split())
        if user is None:
            authorization = Authorization(client_id=client.client_id, scopes=scopes)
        else:
            authorization = Authorization(**{**user.__dict__, "scopes": scopes or user.scopes})
        snapshot = None
        if authorization.subject_id is not None and "openid" in authorization.scopes:
            # What userinfo will answer, fixed at issuance: userinfo then needs no database read.
            snapshot = userinfo_claims(self.person_claims(authorization.subject_id), authorization.scopes,
                                       authorization.claims, allowed=set(authorization.released_claims))
        access_token, ttl = self.tokens.access_token(authorization, client.client,
                                                     cnf={"jkt": dpop_jkt} if dpop_jkt else None, userinfo=snapshot)
        token: dict[str, Any] = {"access_token": access_token, "token_type": "DPoP" if dpop_jkt else "Bearer",
                                 "expires_in": ttl,
                                 "scope": " ".join(authorization.scopes)}
        offline = "offline_access" in authorization.scopes or client.client.trusted
        if include_refresh_token and offline and authorization.subject_id is not None:
            token["refresh_token"] = successor or new_refresh_token()
        return token

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Store the refresh token (creating its grant on first issuance), then record the event. A
        rotation stored its successor with the claim: nothing to store, but a successor the
        response does not carry (its scopes no longer give offline access) is deleted.

        The state commits first, in its own short statement or transaction; the event then goes
        through the audit log's group commit (:class:`~idp.audit.batching.AuditBatcher`), and this
        returns only once the event is committed: no token response leaves without its durable
        event, and no request holds the audit chain's head lock. Trade-off: a crash between the two
        commits leaves a refresh token row that was never handed out (nobody can present it; it
        expires with its grant) and no event for it. Likewise a rotation refused after its claim
        (``invalid_scope``) or failing before its response leaves a successor nobody was given.
        """
        authorization: Authorization | None = request.user
        client = request.client.client
        refresh = token.get("refresh_token")
        grant_id = authorization.grant_id if authorization is not None else None
        successor = getattr(request.refresh_token, "successor", None)  # a rotation's, stored already
        if successor is not None and refresh != successor:
            self.storage.grants.discard_refresh_token(hash_token(successor))
        if refresh and authorization is not None and grant_id and successor is None:
            bound_to = request.extras.get("dpop_jkt") if client.is_public else None  # RFC 9449 §5
            self._open_grant(authorization, client, hash_token(refresh), bound_to)
        person = authorization if authorization is not None and authorization.subject_id else None
        self.record(
            "token.refreshed" if request.payload.grant_type == "refresh_token" else "token.issued", request,
            client_id=client.client_id, subject=person.subject_id if person else None,
            acr=person.acr if person else None, amr=person.amr if person else None,
            details={"grant_type": request.payload.grant_type, "scope": token.get("scope", ""),
                     "refresh_token": bool(refresh), **({"grant_id": grant_id} if grant_id else {})},
        )

    def _open_grant(self, authorization: Authorization, client: Client, refresh_hash: str,
                    bound_to: str | None) -> None:
        """Store a code's first refresh token under the authorization's grant, creating the grant
        (an SSO session's later code for the same client reuses it): one statement on PostgreSQL. A
        grant revoked since the code was issued refuses the request (no token is stored), and the
        access token just recorded under it goes with it."""
        assert authorization.grant_id is not None
        grant = self.storage.grants.open_with_refresh_token(Grant(
            id=authorization.grant_id, client_id=client.client_id, subject_id=authorization.subject_id,
            scopes=authorization.scopes, sid=authorization.sid,
            claims={"request": authorization.claims, "released": list(authorization.released_claims)},
            acr=authorization.acr, amr=authorization.amr, auth_time=authorization.auth_time,
            expires_at=utcnow() + timedelta(seconds=self.settings.refresh_token_ttl_seconds),
        ), refresh_hash, dpop_jkt=bound_to)
        if not grant.active or grant.client_id != client.client_id:
            self.ephemeral.revoke_by_grant(grant.id)
            raise InvalidGrantError("the authorization was revoked")

    def issue_id_token(self, authorization: Authorization, client: Client, access_token: str | None) -> str:
        claims = self.person_claims(authorization.subject_id) if authorization.subject_id else {}
        return self.tokens.id_token(authorization, client, access_token=access_token, user_claims=claims)

    def person_claims(self, subject_id: str, subject: Subject | None = None) -> dict[str, Any]:
        """The subject's claims; inside ``one_request()`` read once (a token response needs them for
        the access token's userinfo snapshot and again for the ID token). ``subject`` is the row
        when the caller read it already (a rotation reads it with its token): decoded, not read."""
        memo = _request_memo.get()
        if subject is None and memo is not None and subject_id in memo:
            return memo[subject_id]
        key = self.identity_keys.enc_key
        claims = decoded_claims(subject, key) if subject is not None else subject_claims(self.storage, subject_id, key)
        if memo is not None:
            memo[subject_id] = claims
        return claims

    @staticmethod
    @contextlib.contextmanager
    def one_request() -> Iterator[None]:
        """Reads made inside are shared for the rest of this request, and only this request."""
        token = _request_memo.set({})
        try:
            yield
        finally:
            _request_memo.reset(token)

    # -- revocation and introspection ------------------------------------------------------------
    def find_token(self, value: str, hint: str | None) -> AccessTokenRecord | RefreshTokenRecord | None:
        if not value or len(value) > MAX_TOKEN_CHARS:
            return None
        if is_access_token_shaped(value):
            try:
                return AccessTokenRecord(self.tokens.check_access_token(value), self.issuer)
            except InvalidToken:
                return None
        token = self.storage.grants.find_refresh_token(hash_token(value))
        grant = self.storage.grants.get(token.grant_id) if token else None
        client = self.find_client(grant.client_id) if grant else None
        if token is None or grant is None or client is None:
            return None
        sub = self.subject_ids.for_client(grant.subject_id, client) if grant.subject_id else client.client_id
        return RefreshTokenRecord(token=token, grant=grant, sub=sub, issuer=self.issuer)

    def revoke_token(self, token: AccessTokenRecord | RefreshTokenRecord, request: Any) -> None:
        if isinstance(token, AccessTokenRecord):
            self.tokens.revoke_access_token(token.info)
            self.record("token.revoked", request, client_id=token.info.client_id, subject=token.info.subject_id,
                        details={"token_type": "access_token"})
            return
        with self.storage.db.transaction():
            self.revoke_grant(token.grant.id, "revoked_by_client")
            self.record("token.revoked", request, client_id=token.grant.client_id, subject=token.grant.subject_id,
                        details={"token_type": "refresh_token", "grant_id": token.grant.id})

    def revoke_grant(self, grant_id: str, reason: str) -> None:
        """Revoke the grant's refresh tokens and every access token issued under it."""
        self.storage.grants.revoke(grant_id, reason)
        self.ephemeral.revoke_by_grant(grant_id)

    def recent_signins(self, subject_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """The person's own latest sign-ins from the audit trail (for the account page)."""
        recent = getattr(self.audit, "recent_signins", None)
        return list(recent(subject_id, limit)) if recent else []

    # -- sessions --------------------------------------------------------------------------------
    def end_session(self, session: SsoSession, request: Any = None) -> list[str]:
        """Log out: end the SSO session and revoke every grant issued in it; return the clients."""
        self.sessions.destroy(session.id)
        for grant_id in session.grants.values():
            self.revoke_grant(grant_id, "logout")
        if self.backchannel is not None:  # OIDC Back-Channel Logout 1.0: delivered in the background
            self.backchannel.notify(session, sorted(session.grants))
        return sorted(session.grants)


MAX_TOKEN_CHARS = 16384


def is_access_token_shaped(value: str) -> bool:
    """Whether a presented token has the shape of our access tokens (a compact JWS); refresh tokens
    are opaque and have no dots."""
    return 0 < len(value) <= MAX_TOKEN_CHARS and value.count(".") == 2
