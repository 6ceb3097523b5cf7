"""Signing keys behind one :class:`Signer` protocol: software keys sealed under a KEK, PKCS#11
HSM keys, one JWS/JWT assembly, the key ring with rotation and the published JWKS."""

from keys.errors import InvalidToken, KeyConfigError, KeysError, NoSigningKey, RotationRefused
from keys.jwt import encode_jwt
from keys.ring import KeyRing, open_key_ring
from keys.signer import SUPPORTED_ALGORITHMS, Signer
from keys.verify import check_time_claims

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "InvalidToken",
    "KeyConfigError",
    "KeyRing",
    "KeysError",
    "NoSigningKey",
    "RotationRefused",
    "Signer",
    "check_time_claims",
    "encode_jwt",
    "open_key_ring",
]
