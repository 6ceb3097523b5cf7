"""The upstream's signing keys (its JWKS), with rotation by ``kid``.

A token whose ``kid`` is not in the cached set makes the set be fetched again — at most once per
``refresh_seconds``, so a stream of forged tokens with random ``kid`` values cannot turn this
provider into a load generator against the upstream. Only public asymmetric keys meant for
signatures are kept: a symmetric (``oct``) key in an upstream JWKS is ignored, so no HMAC can be
verified with a published value.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from adapters.base import UpstreamRejected

KEY_TYPES: dict[str, type[Key]] = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}
ALG_KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


def key_type_for(alg: str) -> str | None:
    return ALG_KEY_TYPE.get(alg[:2])


def parse_jwks(document: dict[str, Any]) -> list[Key]:
    """The usable signature keys of a JWKS document (others are skipped, not fatal)."""
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise UpstreamRejected("jwks: no keys array", reason="malformed_jwks")
    keys: list[Key] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        key_class = KEY_TYPES.get(str(entry.get("kty")))
        if key_class is None:
            continue
        public = {k: v for k, v in entry.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
        try:
            keys.append(key_class.import_key(public))
        except (JoseError, ValueError, TypeError):
            continue
    return keys


class UpstreamKeys:
    """Cached upstream JWKS. ``fetch`` returns the JWKS document (raising adapter errors)."""

    def __init__(
        self,
        fetch: Callable[[], dict[str, Any]],
        *,
        refresh_seconds: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: list[Key] | None = None
        self._fetched_at = 0.0
        self.fetch_count = 0

    def key_for(self, kid: str | None, alg: str) -> Key:
        """The key that must have signed a token with this header; raise UpstreamRejected
        (unknown_kid) when no such key exists even after an allowed refetch."""
        with self._lock:
            if self._keys is None:
                self._refresh()
            key = self._match(kid, alg)
            if key is None and self._clock() - self._fetched_at >= self._refresh_seconds:
                self._refresh()
                key = self._match(kid, alg)
        if key is None:
            raise UpstreamRejected("id token: no upstream key matches its kid", reason="unknown_kid")
        return key

    def _refresh(self) -> None:
        self._fetched_at = self._clock()
        self.fetch_count += 1
        self._keys = parse_jwks(self._fetch())

    def _match(self, kid: str | None, alg: str) -> Key | None:
        wanted_type = key_type_for(alg)
        candidates = [
            key
            for key in self._keys or []
            if key.key_type == wanted_type and key.get("alg", alg) == alg
        ]
        if kid is not None:
            candidates = [key for key in candidates if key.get("kid") == kid]
        # Without a kid the choice must be unambiguous (OIDC Core §10.1).
        return candidates[0] if len(candidates) == 1 else None
