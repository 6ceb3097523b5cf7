"""The one interface every signing key offers, software or HSM.

Everything that signs (ID tokens, JWT access tokens, logout tokens, audit checkpoints) holds a
:class:`Signer` and never a private key: an HSM signer's key never leaves the token.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

ES256 = "ES256"
RS256 = "RS256"
PS256 = "PS256"
EDDSA = "EdDSA"

#: Asymmetric JWS algorithms (RFC 7518 §3, RFC 8037) this provider signs and verifies with.
#: Nothing symmetric and never ``none``.
SUPPORTED_ALGORITHMS: tuple[str, ...] = (ES256, RS256, PS256, EDDSA)
DEFAULT_ALGORITHM = ES256


@runtime_checkable
class Signer(Protocol):
    """A private key that signs JWS signing input for one algorithm."""

    kid: str
    alg: str

    def public_jwk(self) -> dict[str, str]:
        """The public JWK (RFC 7517) with ``kid``, ``alg`` and ``use: "sig"``; never private members."""
        ...

    def sign(self, signing_input: bytes) -> bytes:
        """The JWS signature over ``signing_input`` (RFC 7515 §5.1): for ES256 the raw 64-byte
        R||S (RFC 7518 §3.4), for RS256/PS256 the RSA signature, for EdDSA the Ed25519 signature."""
        ...
