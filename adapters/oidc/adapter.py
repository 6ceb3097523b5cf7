"""The generic upstream OpenID Provider adapter (authorization code flow, OIDC Core §3.1).

``begin`` makes a fresh ``state`` and ``nonce`` (and an S256 PKCE verifier, RFC 7636, when the
upstream supports it or the configuration says so) and returns them as the pending sign-in the
caller keeps until the callback. ``complete`` checks the callback against it — a state is used
once: a replayed callback is refused even if the caller kept its pending record — exchanges the
code, validates the ID token (id_token.py), reads userinfo (whose ``sub`` MUST equal the ID
token's, §5.3.2), maps claims and acr, and returns the neutral Identity.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx2

from adapters.base import (
    ENTITLEMENTS_EVIDENCE,
    AdapterError,
    Identity,
    OrganisationEntitlement,
    RequestData,
    UpstreamLogout,
    UpstreamRejected,
    UpstreamRequest,
    recorded_entitlements,
)
from adapters.config import display_name_for
from adapters.oidc.config import OidcConfig
from adapters.oidc.http import get_json
from adapters.oidc.id_token import IdTokenRules, validate_id_token
from adapters.oidc.jwks import UpstreamKeys
from adapters.oidc.metadata import ProviderMetadata
from adapters.oidc.token_request import exchange_code
from idp.specs.rfc7636_pkce import s256_code_challenge
from idp.storage.ephemeral.base import EphemeralStore
from idp.storage.ephemeral.memory import MemoryStore
from policies.loa import map_upstream_acr

PROTOCOL_CLAIMS = frozenset(
    {"iss", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash", "s_hash", "sid", "jti",
     "session_state", "auth_time", "acr", "amr", "typ", "sub"}
)  # fmt: skip
STATE_KIND = "upstream_state"


def _add_query(url: str, params: Mapping[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


class OidcUpstreamAdapter:
    """A RedirectAdapter over one upstream OpenID Provider."""

    def __init__(
        self,
        config: OidcConfig,
        *,
        replay_guard: EphemeralStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.id = config.id
        self.config = config
        self._clock = clock
        self._guard: EphemeralStore = replay_guard if replay_guard is not None else MemoryStore()
        self._http = httpx2.Client(
            timeout=httpx2.Timeout(config.timeout_seconds), trust_env=False, follow_redirects=False
        )
        self.metadata = ProviderMetadata(config, self._http)
        self.keys = UpstreamKeys(
            lambda: get_json(self._http, self.metadata.get()["jwks_uri"], "jwks"),
            refresh_seconds=config.jwks_refresh_seconds,
        )

    def display_name(self, locale: str) -> str:
        return display_name_for(self.config.display_name, locale, self.id)

    def close(self) -> None:
        self._http.close()

    # -- begin ---------------------------------------------------------------------------

    def begin(self, callback_url: str, request: UpstreamRequest | None = None) -> tuple[str, dict[str, Any]]:
        """The upstream authorization URL and the pending sign-in to keep (state, nonce, PKCE
        verifier). ``request``: the level needed, asked as the upstream's own ``acr_values``
        (:meth:`OidcConfig.upstream_acr_value`; the configured ``authorize_params`` otherwise), and
        ``prompt=login`` / ``max_age`` when a fresh sign-in is needed (OIDC Core §3.1.2.1). Raises
        SourceUnavailable when the upstream's metadata cannot be read."""
        metadata = self.metadata.get()
        pending: dict[str, Any] = {
            "adapter": self.id,
            "state": secrets.token_urlsafe(32),
            "nonce": secrets.token_urlsafe(32),
            "callback_url": callback_url,
            "created_at": int(self._clock()),
        }
        params = {
            **self.config.authorize_params,
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": callback_url,
            "scope": " ".join(self.config.scopes),
            "state": pending["state"],
            "nonce": pending["nonce"],
        }
        if request is not None:
            params.update(self.upstream_params(request))
        if self.config.pkce == "always" or (self.config.pkce == "auto" and self.metadata.supports_s256()):
            pending["code_verifier"] = secrets.token_urlsafe(48)
            params["code_challenge"] = s256_code_challenge(pending["code_verifier"])
            params["code_challenge_method"] = "S256"
        return _add_query(metadata["authorization_endpoint"], params), pending

    def upstream_params(self, request: UpstreamRequest) -> dict[str, str]:
        """The authorization parameters that ask the upstream for ``request``."""
        params: dict[str, str] = {}
        value = self.config.upstream_acr_value(request.level) if request.level else None
        if value is not None:
            params["acr_values"] = value
        if request.fresh:
            params["prompt"] = "login"
        if request.max_age is not None:
            params["max_age"] = str(max(0, request.max_age))
        return params

    # -- complete ------------------------------------------------------------------------

    def complete(self, callback_url: str, request: RequestData, pending: Mapping[str, Any]) -> Identity:
        """Finish the sign-in; UpstreamRejected (with a stable ``reason``) or SourceUnavailable."""
        params = request.query or request.form
        self._check_state(params, pending)
        if params.get("error"):
            raise UpstreamRejected("the upstream ended the sign-in with an error", reason="upstream_denied")
        if "iss" in params and params["iss"] != self.config.issuer:  # RFC 9207
            raise UpstreamRejected("callback from another issuer", reason="wrong_issuer")
        code = params.get("code")
        if not code:
            raise UpstreamRejected("the callback has no code", reason="missing_code")
        metadata = self.metadata.get()
        token = exchange_code(
            self.config, self._http, metadata["token_endpoint"], pending.get("callback_url") or callback_url,
            code, pending.get("code_verifier"),
        )
        raw_id_token = token.get("id_token")
        if not isinstance(raw_id_token, str):
            raise UpstreamRejected("the token response has no ID token", reason="missing_id_token")
        now = int(self._clock())
        claims = validate_id_token(raw_id_token, self.keys, self._rules(), nonce=str(pending["nonce"]), now=now)
        upstream_claims = {k: v for k, v in claims.items() if k not in PROTOCOL_CLAIMS}
        access_token = token.get("access_token")
        if self.config.use_userinfo and metadata.get("userinfo_endpoint") and isinstance(access_token, str):
            upstream_claims.update(self._userinfo(metadata["userinfo_endpoint"], access_token, claims["sub"]))
        return self._identity(claims, upstream_claims, raw_id_token, now)

    def _check_state(self, params: Mapping[str, str], pending: Mapping[str, Any]) -> None:
        expected, received = pending.get("state"), params.get("state")
        if (
            not isinstance(expected, str)
            or not isinstance(received, str)
            or pending.get("adapter") != self.id
            or not hmac.compare_digest(expected.encode(), received.encode())
        ):
            raise UpstreamRejected("the callback's state does not match this sign-in", reason="state_mismatch")
        age = self._clock() - float(pending.get("created_at", 0))
        if age > self.config.pending_ttl_seconds:
            raise UpstreamRejected("the sign-in took too long", reason="state_expired")
        digest = hashlib.sha256(f"{self.id}\0{received}".encode()).hexdigest()
        if not self._guard.add_once(STATE_KIND, digest, self.config.pending_ttl_seconds):
            raise UpstreamRejected("this callback was already used", reason="replayed_callback")

    def _rules(self) -> IdTokenRules:
        return IdTokenRules(
            issuer=self.config.issuer,
            client_id=self.config.client_id,
            algorithms=self.config.id_token_algs,
            leeway=self.config.leeway_seconds,
            max_age=self.config.max_id_token_age_seconds,
            max_bytes=self.config.max_token_bytes,
        )

    def _userinfo(self, endpoint: str, access_token: str, sub: str) -> dict[str, Any]:
        info = get_json(self._http, endpoint, "userinfo", headers={"Authorization": f"Bearer {access_token}"})
        if info.get("sub") != sub:
            raise UpstreamRejected("userinfo is about someone else", reason="userinfo_sub_mismatch")
        return {k: v for k, v in info.items() if k not in PROTOCOL_CLAIMS}

    def _identity(self, claims: dict[str, Any], upstream_claims: dict[str, Any], raw: str, now: int) -> Identity:
        auth_time = claims.get("auth_time")
        upstream_acr = claims.get("acr") if isinstance(claims.get("acr"), str) else None
        amr_claim = claims.get("amr")
        upstream_amr = amr_claim if isinstance(amr_claim, list) else []
        level = map_upstream_acr(self.config.acr_map, upstream_acr, default=self.config.default_acr).token
        return Identity(
            subject=claims["sub"],
            adapter_id=self.id,
            issuer=self.config.issuer,
            auth_time=int(auth_time) if isinstance(auth_time, int | float) and auth_time <= now + 60 else now,
            acr=level,
            amr=tuple(self.config.amr),
            claims={**self.config.normalise_claims(upstream_claims), **self.config.level_claims(level)},
            evidence={
                "upstream_issuer": self.config.issuer,
                "upstream_acr": upstream_acr,
                "upstream_amr": [str(v) for v in upstream_amr][:10],
                # For upstream logout only: kept sealed in the session, never in the audit trail
                # (the ID token only when it will be posted: a GET logout does not send it).
                "logout": {"sid": claims.get("sid")}
                | ({"id_token_hint": raw} if self.config.logout_method == "post" else {}),
            } | ({ENTITLEMENTS_EVIDENCE: listed} if (listed := self.config.organisation_entitlements(upstream_claims))
                 else {}),
        )

    def entitlements(self, identity: Identity) -> tuple[OrganisationEntitlement, ...]:
        """The organisations this upstream said, at ``identity``'s sign-in here, the person may act
        for (:meth:`OidcConfig.organisation_entitlements`); none for another adapter's identity."""
        return recorded_entitlements(self.id, identity)

    # -- logout --------------------------------------------------------------------------

    def logout_request(self, identity_hint: Mapping[str, Any], post_logout_redirect_uri: str) -> UpstreamLogout | None:
        """RP-initiated logout at the upstream (OIDC RP-Initiated Logout 1.0 §2) at its
        end_session_endpoint (``identity_hint`` is the Identity's ``evidence["logout"]``): a POST
        with ``id_token_hint`` in the form (``logout_method: post``), or a GET with ``client_id``
        and the upstream session's ``sid`` as ``logout_hint`` (``get``: the ID token stays out of
        the URL). None when the upstream has no such endpoint or cannot be reached."""
        try:
            endpoint = self.metadata.get().get("end_session_endpoint")
        except AdapterError:
            return None
        if not isinstance(endpoint, str):
            return None
        params = {"client_id": self.config.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        hint, sid = identity_hint.get("id_token_hint"), identity_hint.get("sid")
        if self.config.logout_method == "post":
            if isinstance(hint, str):
                params["id_token_hint"] = hint
            return UpstreamLogout(endpoint, "POST", params)
        if isinstance(sid, str) and sid:
            params["logout_hint"] = sid
        return UpstreamLogout(endpoint, "GET", params)
