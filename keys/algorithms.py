"""The four JWS algorithms in software (RFC 7518 §3.3-3.5, RFC 8037 §3.1) over ``cryptography``.

ES256 signatures are the raw 64-byte R||S, not DER (RFC 7518 §3.4). PS256 uses MGF1-SHA256 and a
salt as long as the hash (RFC 7518 §3.5). RSA keys are 3072 bits (a government-deployment floor
above RFC 7518's 2048 minimum); smaller RSA keys are refused when verifying.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from keys.signer import EDDSA, ES256, PS256, RS256, SUPPORTED_ALGORITHMS

RSA_BITS = 3072
MIN_RSA_BITS = 2048
P256_BYTES = 32

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


def require_supported(alg: str) -> str:
    if alg not in SUPPORTED_ALGORITHMS:
        raise ValueError(f"unsupported signing algorithm {alg!r} (use one of {', '.join(SUPPORTED_ALGORITHMS)})")
    return alg


def generate_private_key(alg: str) -> PrivateKey:
    """A fresh private key for ``alg``: P-256, RSA 3072 or Ed25519."""
    require_supported(alg)
    if alg == ES256:
        return ec.generate_private_key(ec.SECP256R1())
    if alg in (RS256, PS256):
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    return ed25519.Ed25519PrivateKey.generate()


def key_fits_algorithm(key: Any, alg: str) -> bool:
    """True when ``key`` (private or public) is the key type ``alg`` needs."""
    if alg == ES256:
        return isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(
            key.curve, ec.SECP256R1
        )
    if alg in (RS256, PS256):
        return isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS
    if alg == EDDSA:
        return isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey)
    return False


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size)


def sign(private_key: PrivateKey, alg: str, signing_input: bytes) -> bytes:
    """The JWS signature of ``signing_input``."""
    if alg == ES256 and isinstance(private_key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(P256_BYTES, "big") + s.to_bytes(P256_BYTES, "big")
    if alg == RS256 and isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    if alg == PS256 and isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(signing_input, _pss(), hashes.SHA256())
    if alg == EDDSA and isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(signing_input)
    raise ValueError(f"key does not fit algorithm {alg}")


def verify(public_key: PublicKey, alg: str, signing_input: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid ``alg`` signature by ``public_key``; False otherwise."""
    if not key_fits_algorithm(public_key, alg):
        return False
    try:
        if alg == ES256 and isinstance(public_key, ec.EllipticCurvePublicKey):
            if len(signature) != 2 * P256_BYTES:
                return False
            r = int.from_bytes(signature[:P256_BYTES], "big")
            s = int.from_bytes(signature[P256_BYTES:], "big")
            public_key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
        elif alg == RS256 and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif alg == PS256 and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, signing_input, _pss(), hashes.SHA256())
        elif alg == EDDSA and isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, signing_input)
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True
