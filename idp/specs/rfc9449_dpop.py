"""DPoP proofs (RFC 9449 §4.2-4.3, §7-9, §11) and the key binding of tokens (§6).

Choices:
- a proof is one compact JWS in exactly one ``DPoP`` header, 16 KiB at most; ``typ`` MUST be
  ``dpop+jwt``; ``alg`` asymmetric (ES256/PS256 under the strict profile), never ``none``/HMAC;
  ``jwk`` MUST be a public key (private members refused); no other key-carrying header;
- ``htm`` must equal the request method and ``htu`` the endpoint URL under the issuer, compared
  after normalisation (scheme and host lower-cased, default port dropped, query and fragment
  ignored, §4.3 item 9);
- ``iat`` at most ``dpop_proof_max_age_seconds`` old and a fifth of that in the future (§11.1);
  ``jti`` single use per key within that window (replay cache in the short-lived store);
- ``ath`` (base64url SHA-256 of the access token) is required at resource endpoints (§4.3 item 11);
- server nonces (§8, §9) are stateless: an HMAC of the current five-minute slot, so every replica
  accepts them; the current and previous slot are valid; required when ``dpop_nonce_required``;
- errors: ``invalid_dpop_proof`` and ``use_dpop_nonce`` (with a fresh ``DPoP-Nonce`` header).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from idp.errors import OAuthError
from idp.storage.ephemeral import EphemeralStore
from keys import algorithms
from keys.errors import InvalidToken
from keys.jwk import PRIVATE_MEMBERS, b64url, public_key_from_jwk, public_members, thumbprint
from keys.signer import SUPPORTED_ALGORITHMS
from keys.verify import decode_part, json_object

MAX_PROOF_BYTES = 16 * 1024
NONCE_SLOT_SECONDS = 300
REPLAY_KIND = "dpop_jti"
KEY_HEADERS = frozenset({"jku", "x5u", "x5c", "x5t", "x5t#S256", "crit", "b64", "zip"})
DEFAULT_PORTS = {"https": 443, "http": 80}


class DpopError(OAuthError):
    """``invalid_dpop_proof`` (or ``use_dpop_nonce``) with the headers the client needs."""


@dataclass(frozen=True)
class DpopProof:
    """A verified proof: the thumbprint (``jkt``, RFC 7638) of the key that signed it."""

    jkt: str
    jti: str
    alg: str


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url of the SHA-256 of the access token's ASCII (§4.2)."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def normalise_url(url: str) -> str:
    """Scheme, host and port (without the scheme's default) and path; no query or fragment."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return ""
    netloc = host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def _part(text: str, what: str) -> bytes:
    try:
        return decode_part(text, f"the proof's {what}")
    except InvalidToken as exc:
        raise DpopError("invalid_dpop_proof", str(exc)) from None


def _object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        return json_object(raw, f"the proof's {what}")
    except InvalidToken:
        raise DpopError("invalid_dpop_proof", f"the proof's {what} is not a JSON object") from None


class DpopVerifier:
    """Verifies proofs and issues nonces (one per provider)."""

    def __init__(self, ephemeral: EphemeralStore, nonce_secret: bytes, *, max_age: int,
                 nonce_required: bool) -> None:
        self.ephemeral = ephemeral
        self._secret = nonce_secret
        self.max_age = max_age
        self.nonce_required = nonce_required

    def nonce(self, now: float | None = None, slot_offset: int = 0) -> str:
        slot = int((time.time() if now is None else now) // NONCE_SLOT_SECONDS) + slot_offset
        return b64url(hmac.new(self._secret, f"dpop-nonce {slot}".encode(), hashlib.sha256).digest()[:18])

    def _nonce_ok(self, value: Any, now: float) -> bool:
        return isinstance(value, str) and any(hmac.compare_digest(value, self.nonce(now, offset))
                                              for offset in (0, -1))

    def verify(self, headers: list[str], *, method: str, url: str, access_token: str | None = None,
               allowed_algorithms: tuple[str, ...] = SUPPORTED_ALGORITHMS) -> DpopProof:
        """Verify the request's ``DPoP`` header values; a :class:`DpopProof` or :class:`DpopError`."""
        if len(headers) != 1:
            raise DpopError("invalid_dpop_proof", "exactly one DPoP header is required")
        proof = headers[0]
        if len(proof) > MAX_PROOF_BYTES:
            raise DpopError("invalid_dpop_proof", "the proof is too large")
        parts = proof.split(".")
        if len(parts) != 3 or not all(parts):
            raise DpopError("invalid_dpop_proof", "the proof is not a compact JWS")
        header = _object(_part(parts[0], "header"), "header")
        jwk = self._check_header(header, allowed_algorithms)
        public_key = self._public_key(jwk)
        signing_input = (parts[0] + "." + parts[1]).encode("ascii")
        if not algorithms.verify(public_key, header["alg"], signing_input, _part(parts[2], "signature")):
            raise DpopError("invalid_dpop_proof", "the proof's signature does not verify")
        claims = _object(_part(parts[1], "payload"), "payload")
        jkt = thumbprint(public_members(public_key))
        self._check_claims(claims, jkt, method=method, url=url, access_token=access_token)
        return DpopProof(jkt=jkt, jti=claims["jti"], alg=header["alg"])

    @staticmethod
    def _check_header(header: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
        if header.get("typ") != "dpop+jwt":
            raise DpopError("invalid_dpop_proof", "typ must be dpop+jwt")
        if header.get("alg") not in allowed:
            raise DpopError("invalid_dpop_proof", f"algorithm {header.get('alg')!r} is not accepted")
        if KEY_HEADERS & set(header):
            raise DpopError("invalid_dpop_proof", f"header {sorted(KEY_HEADERS & set(header))[0]!r} is not accepted")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict):
            raise DpopError("invalid_dpop_proof", "the proof must carry its public key as jwk")
        if PRIVATE_MEMBERS & set(jwk):
            raise DpopError("invalid_dpop_proof", "the proof's jwk must be a public key")
        return jwk

    @staticmethod
    def _public_key(jwk: dict[str, Any]) -> algorithms.PublicKey:
        try:
            return public_key_from_jwk(jwk)
        except (ValueError, KeyError, TypeError):
            raise DpopError("invalid_dpop_proof", "the proof's jwk is not a supported public key") from None

    def _check_claims(self, claims: dict[str, Any], jkt: str, *, method: str, url: str,
                      access_token: str | None) -> None:
        if claims.get("htm") != method:
            raise DpopError("invalid_dpop_proof", "htm does not match the request method")
        htu = claims.get("htu")
        if not isinstance(htu, str) or normalise_url(htu) != normalise_url(url):
            raise DpopError("invalid_dpop_proof", "htu does not match the request URL")
        now = time.time()
        iat = claims.get("iat")
        if isinstance(iat, bool) or not isinstance(iat, int | float):
            raise DpopError("invalid_dpop_proof", "iat is required")
        if iat < now - self.max_age or iat > now + self.max_age / 5:
            raise DpopError("invalid_dpop_proof", "iat is outside the accepted window")
        if access_token is not None and claims.get("ath") != access_token_hash(access_token):
            raise DpopError("invalid_dpop_proof", "ath does not match the access token")
        if self.nonce_required and not self._nonce_ok(claims.get("nonce"), now):
            raise DpopError("use_dpop_nonce", "a fresh DPoP nonce is required",
                            headers={"DPoP-Nonce": self.nonce(now)})
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise DpopError("invalid_dpop_proof", "jti is required")
        key = hashlib.sha256(f"{jkt}\x00{jti}".encode()).hexdigest()
        if not self.ephemeral.add_once(REPLAY_KIND, key, int(self.max_age * 1.2) + 5):
            raise DpopError("invalid_dpop_proof", "the proof was already used (jti replayed)")
