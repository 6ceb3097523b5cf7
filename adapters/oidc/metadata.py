"""The upstream's endpoints: from its discovery document (OpenID Connect Discovery 1.0 §4) or
from the configuration.

§4.3: the document's ``issuer`` MUST be identical to the configured issuer, else it is refused
(it could be someone else's). Configured endpoints override discovered ones. The document is kept
for ``ttl`` seconds; a failed fetch is not cached, so a recovered upstream works at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx2

from adapters.base import UpstreamRejected
from adapters.oidc.config import ENDPOINTS, OidcConfig, check_url
from adapters.oidc.http import get_json

REQUIRED = ("authorization_endpoint", "token_endpoint", "jwks_uri")


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


class ProviderMetadata:
    """The upstream's metadata, fetched on first use and cached."""

    def __init__(
        self, config: OidcConfig, http: httpx2.Client, *, ttl: int = 3600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._config = config
        self._http = http
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._value: dict[str, Any] | None = None
        self._fetched_at = 0.0

    def get(self) -> dict[str, Any]:
        """The metadata; raise SourceUnavailable or UpstreamRejected when it cannot be had."""
        with self._lock:
            if self._value is None or self._clock() - self._fetched_at > self._ttl:
                self._value = self._load()
                self._fetched_at = self._clock()
            return self._value

    def _load(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {}
        if self._config.discovery:
            document = get_json(self._http, discovery_url(self._config.issuer), "discovery")
            if document.get("issuer") != self._config.issuer:
                raise UpstreamRejected("discovery: the document names another issuer", reason="wrong_issuer")
            metadata.update(document)
        metadata.update(self._config.static_metadata())
        for name in REQUIRED:
            if not isinstance(metadata.get(name), str):
                raise UpstreamRejected(f"discovery: {name} is missing", reason="malformed_metadata")
        for name in ENDPOINTS:
            value = metadata.get(name)
            if value is None:
                continue
            try:
                if not isinstance(value, str):
                    raise ValueError(name)
                check_url(value, name)
            except ValueError:
                raise UpstreamRejected(f"discovery: {name} is not acceptable", reason="malformed_metadata") from None
        return metadata

    def supports_s256(self) -> bool:
        methods = self.get().get("code_challenge_methods_supported") or []
        return isinstance(methods, list) and "S256" in methods
