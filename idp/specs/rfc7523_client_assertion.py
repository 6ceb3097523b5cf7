"""``private_key_jwt`` client authentication: RFC 7523 §2.2 and §3, OIDC Core 1.0 §9, RFC 7521 §4.2.

Registered with authlib's server as a client-auth method. Choices:
- the assertion is verified with the client's registered ``jwks`` or ``jwks_uri`` keys only
  (:class:`idp.clients.jwks.ClientKeys`): asymmetric algorithms (ES256/PS256 under the strict
  profile), a ``kid`` naming one of its keys, no embedded or referenced key, 16 KiB at most;
- ``iss`` and ``sub`` MUST be the client_id (RFC 7523 §3 items 1-2); a ``client_id`` form parameter,
  when sent, must match (RFC 7521 §4.2);
- ``aud`` MUST contain the issuer, the token endpoint or the endpoint being called (§3 item 3);
- ``exp`` is required and at most five minutes ahead (§3 item 4: the server MAY limit it);
- ``jti`` is required and single use: a replay cache in the short-lived store keeps it until the
  assertion would have expired (§3 item 7);
- every failure is ``invalid_client`` (RFC 6749 §5.2) with a description of what was wrong.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749.errors import InvalidClientError

from idp.clients.jwks import peek_claims
from idp.settings import Settings
from idp.specs.authlib_request import audit_context
from idp.specs.ports import ClientKeyVerifier, Recorder
from idp.specs.profile import signing_algorithms
from idp.storage.ephemeral import EphemeralStore
from keys.errors import InvalidToken
from keys.verify import MAX_TOKEN_BYTES, check_time_claims

if TYPE_CHECKING:
    from idp.specs.authlib_client import OAuthClient

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
METHOD = "private_key_jwt"
MAX_LIFETIME_SECONDS = 300
LEEWAY_SECONDS = 30
REPLAY_KIND = "client_assertion_jti"


def _refuse(description: str) -> InvalidClientError:
    return InvalidClientError(status_code=401, description=description)


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []


class PrivateKeyJwtAuthentication:
    """authlib client-auth method ``(query_client, request) -> client | None``."""

    def __init__(self, *, issuer: str, settings: Settings, client_keys: ClientKeyVerifier,
                 replays: EphemeralStore, recorder: Recorder) -> None:
        self.issuer = issuer
        self.settings = settings
        self.client_keys = client_keys
        self.replays = replays
        self.recorder = recorder

    def __call__(self, query_client: Any, request: Any) -> OAuthClient | None:
        form = request.form
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return None
        assertion = form.get("client_assertion")
        if not isinstance(assertion, str) or not assertion:
            raise _refuse("client_assertion is missing")
        if len(assertion) > MAX_TOKEN_BYTES:
            raise _refuse("the client assertion was refused (oversized)")
        client_id = self._claimed_client_id(assertion, form.get("client_id"))
        client: OAuthClient | None = query_client(client_id)
        if client is None:
            raise _refuse("unknown client")
        if client.client.auth_method != METHOD:
            raise _refuse("the client is not registered for private_key_jwt")
        claims = self.verify(client, assertion, endpoint=request.uri, request=request)
        request.extras["client_assertion_jti"] = claims["jti"]
        return client

    @staticmethod
    def _claimed_client_id(assertion: str, form_client_id: str | None) -> str:
        claimed = peek_claims(assertion).get("iss")
        if not isinstance(claimed, str) or not claimed:
            raise _refuse("the client assertion has no iss")
        if form_client_id and form_client_id != claimed:
            raise _refuse("client_id does not match the client assertion")
        return claimed

    def verify(self, client: OAuthClient, assertion: str, *, endpoint: str, request: Any = None) -> dict[str, Any]:
        """The verified claims of a client assertion; invalid_client otherwise."""
        record = client.client
        try:
            _, claims = self.client_keys.verify(record, assertion,
                                                algorithms=signing_algorithms(self.settings, record))
            check_time_claims(claims, leeway=LEEWAY_SECONDS)
        except InvalidToken as exc:
            raise _refuse(f"the client assertion was refused ({exc.reason})") from None
        if claims.get("iss") != record.client_id or claims.get("sub") != record.client_id:
            raise _refuse("iss and sub of the client assertion must be the client_id")
        allowed_audiences = {self.issuer, self.issuer + "/token", endpoint.split("?")[0]}
        if not allowed_audiences & set(_audiences(claims)):
            raise _refuse("the client assertion's aud must be this issuer")
        now = time.time()
        exp = claims["exp"]
        if exp > now + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
            raise _refuse("the client assertion's exp is more than 5 minutes ahead")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise _refuse("the client assertion needs a jti")
        key = hashlib.sha256(f"{record.client_id}\x00{jti}".encode()).hexdigest()
        ttl = int(max(exp - now, 0) + LEEWAY_SECONDS + 1)
        if not self.replays.add_once(REPLAY_KIND, key, ttl):
            self.recorder.record("client.assertion_replayed", context=audit_context(request),
                                 client_id=record.client_id, outcome="failure", reason="jti_replayed")
            raise _refuse("the client assertion was already used (jti replayed)")
        return claims
