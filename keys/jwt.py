"""The one JWS Compact Serialization (RFC 7515 §7.1) of JWTs (RFC 7519) over any Signer.

Used for ID tokens, JWT access tokens (RFC 9068, ``typ=at+jwt``), logout tokens
(``typ=logout+jwt``) and audit checkpoints. The header carries ``alg`` and ``kid`` from the signer
(never from the caller) and ``typ``; claims are compact UTF-8 JSON (Vietnamese names unescaped).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from keys.jwk import b64url
from keys.signer import Signer

RESERVED_HEADERS = frozenset({"alg", "kid", "jwk", "jku", "x5u", "x5c", "crit", "b64", "zip"})


def _json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def encode_jws(signer: Signer, payload: bytes, header: Mapping[str, Any]) -> str:
    """Compact JWS of ``payload`` with ``header`` (which must already hold alg and kid)."""
    signing_input = b64url(_json(header)).encode("ascii") + b"." + b64url(payload).encode("ascii")
    return signing_input.decode("ascii") + "." + b64url(signer.sign(signing_input))


def encode_jwt(
    signer: Signer,
    claims: Mapping[str, Any],
    *,
    typ: str | None = "JWT",
    extra_headers: Mapping[str, Any] | None = None,
) -> str:
    """Sign ``claims`` as a compact JWT with ``signer``. ``typ=None`` leaves the header out.

    ``extra_headers`` may add informational members; it may not set ``alg``/``kid`` or any
    header that verifiers must refuse (``jwk``, ``jku``, ``x5u``, ``x5c``, ``crit``, ``b64``, ``zip``).
    """
    header: dict[str, Any] = {"alg": signer.alg, "kid": signer.kid}
    if typ is not None:
        header["typ"] = typ
    for name, value in (extra_headers or {}).items():
        if name in RESERVED_HEADERS:
            raise ValueError(f"header {name!r} cannot be set by the caller")
        header[name] = value
    return encode_jws(signer, _json(claims), header)
