"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).

Choices:
- registration needs an initial access token (§3: "MAY be protected"; here always), issued by an
  administrator with ``idp registration token``, stored only as a SHA-256 hash, limited in uses and time;
- metadata are validated strictly with the same rules as ``idp clients add`` (exact, https or
  loopback redirect URIs; known grant types and auth methods); ``response_types`` may only be
  ``code``; ``trusted`` is never granted here; unknown members are ignored and not stored (§2);
- what the administrator did not allow in the initial access token (``idp registration token
  --allow-scope vn_id --allow-public-subject``) is refused: a restricted ``vn_*`` scope, and
  ``subject_type: public``; the allowances are kept with the client (``registration_allows``) and
  bound its RFC 7592 updates too;
- ``private_key_jwt`` needs ``jwks`` or an https ``jwks_uri``; the strict profile (global, or the
  client's ``strict_profile``) accepts only ``private_key_jwt``; a client allowed a restricted
  scope must use the strict profile (``private_key_jwt`` and ``require_pushed_authorization_requests``,
  :func:`idp.specs.profile.restricted_scope_refusal`);
- an update (PUT) is validated by the same function as a registration, then the complete client by
  the same check as ``idp clients add`` (:func:`idp.clients.service.check_client`);
- ``jwks_uri`` and ``backchannel_logout_uri`` whose host is an IP address the outbound policy
  refuses (private, link-local, loopback unless ``allow_loopback_client_urls``..., in any spelling:
  ``0x7f.1``, ``2130706433``, ``[::ffff:10.0.0.1]``) are refused here rather than at the first fetch;
  host names are resolved and checked only when fetched;
- the registration access token (RFC 7592 §3) is stored hashed in the client's metadata and lets
  the client read (GET), replace (PUT) and delete (DELETE) its registration.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from idp.clients.metadata import (
    InvalidClientMetadata,
    check_fetched_uris,
    check_key_metadata,
    check_redirect_uri,
    check_uri_list,
)
from idp.clients.service import DEFAULT_SCOPES, client_as_json
from idp.errors import OAuthError
from idp.settings import Settings
from idp.specs.profile import STRICT_AUTH_METHODS, restricted_scope_refusal, restricted_scopes
from idp.storage.db import Database
from idp.storage.models import Client, utcnow
from idp.storage.schema import registration_tokens

RAT_HASH = "registration_access_token_hash"
ALLOWS = "registration_allows"
PUBLIC_SUBJECT = "subject_type:public"
SCOPE_ALLOWANCE = "scope:"
FLAGS = ("backchannel_logout_session_required", "dpop_bound_access_tokens", "require_pushed_authorization_requests",
         "strict_profile")
URIS = ("jwks_uri", "backchannel_logout_uri", "logo_uri", "client_uri", "policy_uri", "tos_uri")
STRINGS = ("subject_type", "id_token_signed_response_alg", "request_object_signing_alg",
           "token_endpoint_auth_signing_alg")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class InitialAccessTokens:
    """Initial access tokens in the durable store (only their hashes)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def issue(self, label: str, *, uses: int = 1, ttl: timedelta = timedelta(days=7),
              allows: tuple[str, ...] = ()) -> str:
        """A new token (returned once, in clear) good for ``uses`` registrations within ``ttl``;
        ``allows``: what its clients may register beyond the default (:data:`PUBLIC_SUBJECT`,
        :data:`SCOPE_ALLOWANCE` + a restricted scope)."""
        token = secrets.token_urlsafe(32)
        with self.db.transaction() as conn:
            conn.execute(registration_tokens.insert().values(
                token_hash=token_hash(token), label=label, uses_left=uses, expires_at=utcnow() + ttl,
                created_at=utcnow(), allows=" ".join(dict.fromkeys(allows))))
        return token

    def allowances(self, token: str) -> frozenset[str]:
        """What a valid ``token`` allows (empty when it allows nothing more, or is not valid)."""
        if not token or len(token) > 128:
            return frozenset()
        with self.db.connect() as conn:
            allows = conn.execute(select(registration_tokens.c.allows).where(
                registration_tokens.c.token_hash == token_hash(token), registration_tokens.c.uses_left > 0,
                registration_tokens.c.expires_at > utcnow())).scalar()
        return frozenset((allows or "").split())

    def is_valid(self, token: str) -> bool:
        """Whether ``token`` has a use left and has not expired (spends nothing)."""
        if not token or len(token) > 128:
            return False
        with self.db.connect() as conn:
            return conn.execute(select(registration_tokens.c.label).where(
                registration_tokens.c.token_hash == token_hash(token), registration_tokens.c.uses_left > 0,
                registration_tokens.c.expires_at > utcnow())).first() is not None

    def use(self, token: str) -> str | None:
        """Spend one use of ``token`` atomically; its label, or None when unknown, spent or expired."""
        if not token or len(token) > 128:
            return None
        digest = token_hash(token)
        with self.db.transaction() as conn:
            spent = conn.execute(update(registration_tokens)
                                 .where(registration_tokens.c.token_hash == digest,
                                        registration_tokens.c.uses_left > 0,
                                        registration_tokens.c.expires_at > utcnow())
                                 .values(uses_left=registration_tokens.c.uses_left - 1))
            if spent.rowcount != 1:
                return None
            return str(conn.execute(select(registration_tokens.c.label)
                                    .where(registration_tokens.c.token_hash == digest)).scalar_one())


def _invalid(description: str, error: str = "invalid_client_metadata") -> OAuthError:
    return OAuthError(error, description)


def registration_options(metadata: Any, settings: Settings, *, scopes_supported: set[str],
                         signing_algs: list[str], allows: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Keyword arguments of ``register_client`` from RFC 7591 metadata (a registration or an RFC 7592
    update: one validator), within what the initial access token ``allows``; OAuthError when invalid."""
    if not isinstance(metadata, dict):
        raise _invalid("the registration request must be a JSON object")
    redirect_uris = metadata.get("redirect_uris", [])
    if not isinstance(redirect_uris, list) or not all(isinstance(u, str) for u in redirect_uris):
        raise _invalid("redirect_uris must be an array of strings", "invalid_redirect_uri")
    try:
        for uri in redirect_uris:
            check_redirect_uri(uri)
    except InvalidClientMetadata as exc:
        raise _invalid(str(exc), "invalid_redirect_uri") from None
    if metadata.get("response_types", ["code"]) != ["code"]:
        raise _invalid("response_types may only be [\"code\"]")
    method = metadata.get("token_endpoint_auth_method", "client_secret_basic")
    strict = settings.strict_profile or metadata.get("strict_profile") is True
    if strict and method not in STRICT_AUTH_METHODS:
        raise _invalid("the strict profile requires token_endpoint_auth_method private_key_jwt")
    scope = metadata.get("scope", " ".join(DEFAULT_SCOPES))
    if not isinstance(scope, str):
        raise _invalid("scope must be a string")
    scopes = tuple(dict.fromkeys(scope.split()))
    unknown = [s for s in scopes if s not in scopes_supported]
    if unknown:
        raise _invalid(f"scope {unknown[0]!r} is not supported")
    extra: dict[str, Any] = {}
    for name in FLAGS:
        if name in metadata:
            if not isinstance(metadata[name], bool):
                raise _invalid(f"{name} must be true or false")
            extra[name] = metadata[name]
    for name in (*URIS, *STRINGS):
        if name in metadata:
            if not isinstance(metadata[name], str):
                raise _invalid(f"{name} must be a string")
            extra[name] = metadata[name]
    if "jwks" in metadata:
        extra["jwks"] = metadata["jwks"]
    _check_extra(extra, method, settings, signing_algs)
    _check_allowed(scopes, method, extra, allows)
    grant_types = metadata.get("grant_types", ["authorization_code"])
    post_logout = metadata.get("post_logout_redirect_uris", [])
    client_name = metadata.get("client_name")
    if (not isinstance(grant_types, list) or not all(isinstance(g, str) for g in grant_types)
            or not isinstance(post_logout, list) or not all(isinstance(u, str) for u in post_logout)
            or not isinstance(client_name, str | None)):
        raise _invalid("grant_types and post_logout_redirect_uris must be arrays of strings, client_name a string")
    try:
        check_uri_list(post_logout, "post_logout_redirect_uri")
    except InvalidClientMetadata as exc:
        raise _invalid(str(exc)) from None
    if allows:
        extra[ALLOWS] = sorted(allows)
    return {"redirect_uris": redirect_uris, "post_logout_redirect_uris": post_logout, "auth_method": method,
            "grant_types": grant_types, "scopes": scopes, "name": client_name, "extra": extra}


def _check_allowed(scopes: tuple[str, ...], method: str, extra: dict[str, Any], allows: frozenset[str]) -> None:
    """The strict profile of restricted scopes first (the rule a client can meet by itself), then
    what only the administrator's initial access token can allow."""
    why = restricted_scope_refusal(scopes, method, extra)
    if why:
        raise _invalid(why)
    for scope in restricted_scopes(scopes):
        if SCOPE_ALLOWANCE + scope not in allows:
            raise _invalid(f"the restricted scope {scope!r} needs an initial access token that allows it "
                           f"(idp registration token --allow-scope {scope})")
    if extra.get("subject_type") == "public" and PUBLIC_SUBJECT not in allows:
        raise _invalid("subject_type public needs an initial access token that allows it "
                       "(idp registration token --allow-public-subject); pairwise is the default")


def _check_extra(extra: dict[str, Any], method: str, settings: Settings, signing_algs: list[str]) -> None:
    from idp.clients.jwks import check_jwks_uri
    from idp.net.outbound import OutboundPolicy

    try:
        check_key_metadata(method, extra, allow_loopback=settings.allow_loopback_client_urls)
        for name in ("backchannel_logout_uri", "logo_uri", "client_uri", "policy_uri", "tos_uri"):
            if name in extra:
                try:
                    check_jwks_uri(extra[name], allow_loopback=settings.allow_loopback_client_urls)
                except ValueError as exc:
                    raise InvalidClientMetadata(f"{name}: {exc}") from None
        check_fetched_uris(extra, OutboundPolicy.from_settings(settings))
    except (InvalidClientMetadata, ValueError) as exc:
        raise _invalid(str(exc)) from None
    if extra.get("subject_type", "pairwise") not in ("pairwise", "public"):
        raise _invalid("subject_type must be pairwise or public")
    alg = extra.get("id_token_signed_response_alg")
    if alg is not None and alg not in signing_algs:
        raise _invalid(f"id_token_signed_response_alg must be one of {', '.join(signing_algs)}")


def registration_response(client: Client, issuer: str, *, secret: str | None = None,
                          access_token: str | None = None) -> dict[str, Any]:
    """The client information response (RFC 7591 §3.2.1, RFC 7592 §3)."""
    body = {k: v for k, v in client_as_json(client, secret).items() if k not in (RAT_HASH, ALLOWS, "trusted")}
    body["client_id_issued_at"] = int(client.created_at.timestamp())
    body["registration_client_uri"] = f"{issuer}/register/{client.client_id}"
    if secret:
        body["client_secret_expires_at"] = 0
    if access_token:
        body["registration_access_token"] = access_token
    return body


def check_registration_access_token(client: Client | None, token: str | None) -> bool:
    expected = client.extra.get(RAT_HASH) if client else None
    return bool(expected and token and hmac.compare_digest(expected, token_hash(token)))
