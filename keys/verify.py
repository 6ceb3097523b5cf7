"""Strict verification of the JWS/JWTs this provider issued (RFC 7515 §5.2, RFC 8725).

Choices (RFC 8725 §3.1-3.2, §3.10; RFC 7515 §4.1.11):
- only the asymmetric algorithms we sign with; ``none`` and every HMAC are refused outright, and
  the header's ``alg`` must equal the algorithm recorded with the key (no key re-use across algs);
- the key is chosen only by ``kid`` among OUR published keys; a header that carries or points to
  a key (``jwk``, ``jku``, ``x5u``, ``x5c``, ``x5t``) or ``crit`` is refused;
- input over 16 KiB, duplicate JSON members, and non-canonical base64url are refused;
- claims are returned unchecked except for being a JSON object; :func:`check_time_claims` checks
  ``exp``/``nbf``/``iat`` with leeway, audience and issuer are the caller's job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from keys import algorithms
from keys.algorithms import PublicKey
from keys.errors import InvalidToken
from keys.jwk import b64url, b64url_decode
from keys.signer import SUPPORTED_ALGORITHMS

MAX_TOKEN_BYTES = 16 * 1024
REFUSED_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "crit", "b64", "zip"})
DEFAULT_LEEWAY_SECONDS = 60


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise InvalidToken("malformed", f"duplicate member {name!r}")
        result[name] = value
    return result


def decode_part(part: str, what: str) -> bytes:
    """One part of a compact JWS, strictly: canonical base64url only (InvalidToken otherwise)."""
    try:
        raw = b64url_decode(part)
    except ValueError:
        raise InvalidToken("malformed", f"{what} is not base64url") from None
    if b64url(raw) != part:
        raise InvalidToken("malformed", f"{what} is not canonical base64url")
    return raw


def json_object(raw: bytes, what: str) -> dict[str, Any]:
    """A JSON object with no duplicate members (InvalidToken otherwise)."""
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError):
        raise InvalidToken("malformed", f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidToken("malformed", f"{what} is not a JSON object")
    return value


def _typ_matches(actual: Any, expected: str) -> bool:
    if not isinstance(actual, str):
        return False
    actual, expected = actual.lower(), expected.lower()
    return actual in (expected, "application/" + expected) or "application/" + actual == expected


def verify_compact(
    token: str | bytes,
    keys: Mapping[str, tuple[str, PublicKey]],
    *,
    typ: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS against ``keys`` (kid -> (alg, public key)); return (header, claims)."""
    if isinstance(token, bytes):
        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken("oversized", "token larger than 16 KiB")
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidToken("malformed", "token is not ASCII") from None
    if not isinstance(token, str):
        raise InvalidToken("malformed", "token is not a string")
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("oversized", "token larger than 16 KiB")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise InvalidToken("malformed", "not a compact JWS with three parts")
    header = json_object(decode_part(parts[0], "header"), "header")

    alg = header.get("alg")
    if alg not in SUPPORTED_ALGORITHMS:
        raise InvalidToken("alg_not_allowed", f"algorithm {alg!r} is not accepted")
    refused = REFUSED_HEADERS & set(header)
    if refused:
        raise InvalidToken("header_not_allowed", f"header {sorted(refused)[0]!r} is not accepted")
    if typ is not None and not _typ_matches(header.get("typ"), typ):
        raise InvalidToken("wrong_typ", f"typ must be {typ!r}")
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in keys:
        raise InvalidToken("unknown_kid", "the key id is not one of this provider's published keys")
    key_alg, public_key = keys[kid]
    if alg != key_alg:
        raise InvalidToken("alg_mismatch", f"key {kid} signs with {key_alg}, not {alg}")

    signature = decode_part(parts[2], "signature")
    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    if not algorithms.verify(public_key, alg, signing_input, signature):
        raise InvalidToken("bad_signature", "signature does not verify")
    claims = json_object(decode_part(parts[1], "payload"), "payload")
    return header, claims


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken("malformed", f"claim {name!r} is not a NumericDate")
    return float(value)


def check_time_claims(
    claims: Mapping[str, Any],
    *,
    leeway: float = DEFAULT_LEEWAY_SECONDS,
    now: float | None = None,
    require_exp: bool = True,
) -> None:
    """Check ``exp`` (required unless told otherwise), ``nbf`` and ``iat`` (RFC 7519 §4.1.4-4.1.6)
    against ``now`` with ``leeway`` seconds of clock skew; raise InvalidToken otherwise."""
    now = time.time() if now is None else now
    exp = _number(claims, "exp")
    if exp is None:
        if require_exp:
            raise InvalidToken("missing_exp", "the token has no exp")
    elif now >= exp + leeway:
        raise InvalidToken("expired", "the token has expired")
    nbf = _number(claims, "nbf")
    if nbf is not None and now + leeway < nbf:
        raise InvalidToken("not_yet_valid", "the token is not valid yet")
    iat = _number(claims, "iat")
    if iat is not None and now + leeway < iat:
        raise InvalidToken("issued_in_future", "the token was issued in the future")
