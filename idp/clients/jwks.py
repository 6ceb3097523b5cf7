"""A relying party's public keys: its registered ``jwks`` or its ``jwks_uri`` (RFC 7591 §2), and
strict verification of the JWTs it signs (client assertions, request objects).

Choices:
- ``jwks_uri`` is fetched over https (http only for loopback when ``allow_loopback_client_urls``)
  with a timeout, no redirects and a 64 KiB ceiling, through :mod:`idp.net.outbound`: a host that
  resolves to an address that is not public (and not in ``outbound_allowed_networks``) is not
  fetched, the keys are unavailable and the JWT is refused. The document is cached for
  ``client_jwks_cache_seconds``. A JWT naming an unknown ``kid`` triggers one refetch, at most every
  ``client_jwks_refetch_seconds`` per client (RFC 7515 §4.1.4 rotation without a denial of service).
- The key is chosen only by ``kid`` (always required); a JWK with ``use: enc`` or an ``alg`` other
  than the header's is never used; private members are refused. Everything else is the provider's
  own strict verifier (:func:`keys.verify.verify_compact`): no ``none``, no HMAC, no embedded or
  referenced keys, 16 KiB at most.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx

from idp.net.outbound import OutboundPolicy, OutboundRefused, outbound_client
from idp.settings import Settings, is_loopback_host
from idp.storage.models import Client
from keys.algorithms import PublicKey, key_fits_algorithm
from keys.errors import InvalidToken
from keys.jwk import PRIVATE_MEMBERS, b64url_decode, public_key_from_jwk
from keys.verify import MAX_TOKEN_BYTES, verify_compact

log = logging.getLogger(__name__)
MAX_JWKS_BYTES = 64 * 1024
MAX_KEYS = 20

Fetch = Callable[[str, float], bytes]


class JwksUnavailable(InvalidToken):
    """The client's jwks_uri could not be fetched or is not a JWK Set."""

    def __init__(self, message: str) -> None:
        super().__init__("jwks_unavailable", message)


def check_jwks_uri(uri: str, *, allow_loopback: bool) -> str:
    """``uri`` when it is an https URL (or loopback http when allowed); ValueError otherwise."""
    parts = urlsplit(uri)
    if not parts.hostname or parts.fragment or parts.username or parts.password:
        raise ValueError("must be an absolute URL without fragment or credentials")
    loopback = is_loopback_host(parts.hostname)
    if loopback and not allow_loopback:
        raise ValueError("must not point at a loopback host")
    if parts.scheme == "https" or parts.scheme == "http" and loopback:
        return uri
    raise ValueError("must be an https URL")


def check_jwk_set(document: Any) -> list[dict[str, Any]]:
    """The keys of a public JWK Set (RFC 7517 §5); ValueError for private members, duplicate or
    missing ``kid``, unsupported key types or too many keys."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("a JWK Set is an object with a keys array")
    keys: list[dict[str, Any]] = document["keys"]
    if not keys or len(keys) > MAX_KEYS:
        raise ValueError(f"a JWK Set needs 1 to {MAX_KEYS} keys")
    kids: set[str] = set()
    for jwk in keys:
        if not isinstance(jwk, dict) or PRIVATE_MEMBERS & set(jwk):
            raise ValueError("a JWK Set must hold public keys only")
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or kid in kids:
            raise ValueError("every key needs a distinct kid")
        kids.add(kid)
        if jwk.get("use", "sig") == "sig":
            public_key_from_jwk(jwk)
    return keys


def _fetch(uri: str, timeout: float, *, policy: OutboundPolicy) -> bytes:
    with (outbound_client(policy, timeout=timeout) as http,
          http.stream("GET", uri, headers={"Accept": "application/jwk-set+json, application/json"}) as response):
        if response.status_code != 200:
            raise JwksUnavailable(f"jwks_uri answered {response.status_code}")
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_JWKS_BYTES:
                raise JwksUnavailable("jwks_uri document is too large")
        return body


def _peek(token: str, index: int) -> dict[str, Any]:
    try:
        part = token.split(".")[index] if isinstance(token, str) and len(token) <= MAX_TOKEN_BYTES else ""
        value = json.loads(b64url_decode(part)) if part else None
    except (ValueError, UnicodeDecodeError, IndexError):
        return {}
    return value if isinstance(value, dict) else {}


def _peek_header(token: str) -> dict[str, Any]:
    return _peek(token, 0)


def peek_claims(token: str) -> dict[str, Any]:
    """The UNVERIFIED payload of a JWS (only to find out which client's keys verify it)."""
    return _peek(token, 1)


class ClientKeys:
    """Resolves and caches every client's verification keys (one per process)."""

    def __init__(self, *, timeout: float, cache_seconds: int, refetch_seconds: int, allow_loopback: bool,
                 outbound: OutboundPolicy | None = None, fetch: Fetch | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``outbound`` says which addresses a ``jwks_uri`` may reach (default: public ones, and
        loopback when ``allow_loopback``); ``fetch`` replaces the HTTP fetch (tests)."""
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.refetch_seconds = refetch_seconds
        self.allow_loopback = allow_loopback
        self.outbound = outbound if outbound is not None else OutboundPolicy(allow_loopback=allow_loopback)
        self._fetch: Fetch = fetch if fetch is not None else partial(_fetch, policy=self.outbound)
        self._clock = clock
        self._lock = threading.Lock()
        self._documents: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self._last_fetch: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientKeys:
        return cls(timeout=settings.client_jwks_timeout_seconds, cache_seconds=settings.client_jwks_cache_seconds,
                   refetch_seconds=settings.client_jwks_refetch_seconds,
                   allow_loopback=settings.allow_loopback_client_urls,
                   outbound=OutboundPolicy.from_settings(settings))

    def keys_of(self, client: Client, *, refresh: bool = False) -> list[dict[str, Any]]:
        """The client's registered JWKs (``jwks``) or its fetched ``jwks_uri`` document."""
        if client.extra.get("jwks"):
            return check_jwk_set(client.extra["jwks"])
        uri = client.extra.get("jwks_uri")
        if not isinstance(uri, str):
            return []
        now = self._clock()
        with self._lock:
            cached = self._documents.get(uri)
            fresh = cached is not None and now - cached[0] < self.cache_seconds
            may_refetch = now - self._last_fetch.get(client.client_id, -1e9) >= self.refetch_seconds
            if cached is not None and (fresh and not refresh or not may_refetch):
                return cached[1]
            self._last_fetch[client.client_id] = now
        try:
            check_jwks_uri(uri, allow_loopback=self.allow_loopback)
            keys = check_jwk_set(json.loads(self._fetch(uri, self.timeout)))
        except (httpx.HTTPError, ValueError) as exc:
            if isinstance(exc, OutboundRefused):  # the operator's concern; the client only learns "unavailable"
                log.warning("jwks_uri of client %s not fetched: %s", client.client_id, exc)
            raise JwksUnavailable(f"jwks_uri could not be used: {type(exc).__name__}") from None
        with self._lock:
            if len(self._documents) > 10_000:
                self._documents.clear()
            self._documents[uri] = (now, keys)
        return keys

    def verify(self, client: Client, token: str, *, algorithms: Sequence[str],
               typ: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Verify a JWT the client signed; (header, claims) or InvalidToken (``reason`` says why)."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken("oversized", "token larger than 16 KiB")
        header = _peek_header(token)
        alg, kid = header.get("alg"), header.get("kid")
        if isinstance(alg, str) and alg not in algorithms:
            raise InvalidToken("alg_not_allowed", f"algorithm {alg!r} is not accepted for this client")
        candidates = self._candidates(client, alg, kid)
        if not candidates and isinstance(kid, str) and client.extra.get("jwks_uri") and alg in algorithms:
            candidates = self._candidates(client, alg, kid, refresh=True)
        return verify_compact(token, candidates, typ=typ)

    def _candidates(self, client: Client, alg: Any, kid: Any, *,
                    refresh: bool = False) -> Mapping[str, tuple[str, PublicKey]]:
        if not isinstance(alg, str) or not isinstance(kid, str):
            return {}
        for jwk in self.keys_of(client, refresh=refresh):
            if jwk.get("kid") != kid or jwk.get("use", "sig") != "sig" or jwk.get("alg", alg) != alg:
                continue
            public_key = public_key_from_jwk(jwk)
            if key_fits_algorithm(public_key, alg):
                return {kid: (alg, public_key)}
        return {}
