"""Active authentication (ICAO 9303 part 11 §6.1) and DG14's security infos (reported only).

The server gives the reader a fresh 8-byte nonce bound to the interaction; the reader has the chip
sign it with the private key whose public half is in DG15 (covered by the SOD's hashes, so a copy
of the data without the chip cannot answer). Two signature forms:

- RSA: ISO/IEC 9796-2 digital signature scheme 1 with partial message recovery. ``F = s^e mod n``
  (or ``n - F`` when its last nibble is not ``C``) must be ``6A || M1 || H || trailer`` with
  ``H = hash(M1 || nonce)``; trailer ``BC`` is SHA-1, ``xx CC`` names the hash (``34`` SHA-256,
  ``36`` SHA-384, ``35`` SHA-512, ``38`` SHA-224, ``33`` SHA-1).
- ECDSA: the plain ``r || s`` form (BSI TR-03111) over the nonce, with the hash DG14's
  ``ActiveAuthenticationInfo`` names, else the one that fits the curve.

DG14 is parsed and reported (chip authentication offered or not; the AA signature algorithm); this
server does not run chip authentication itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from asn1crypto import core
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from idp.ekyc import tlv
from idp.ekyc.errors import ChipRefused

NONCE_BYTES = 8
MAX_SIGNATURE_BYTES = 512
AA_INFO = "2.23.136.1.1.5"
CHIP_AUTHENTICATION = "0.4.0.127.0.7.2.2.3"
_TRAILERS = {0x33: "sha1", 0x34: "sha256", 0x35: "sha512", 0x36: "sha384", 0x38: "sha224"}
_ECDSA_PLAIN = {"0.4.0.127.0.7.1.1.4.1.1": "sha1", "0.4.0.127.0.7.1.1.4.1.2": "sha224",
                "0.4.0.127.0.7.1.1.4.1.3": "sha256", "0.4.0.127.0.7.1.1.4.1.4": "sha384",
                "0.4.0.127.0.7.1.1.4.1.5": "sha512"}
_EC_HASH_BY_SIZE = {256: "sha256", 384: "sha384", 521: "sha512"}
_HASH_OBJECTS: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256, "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class SecurityInfo(core.Sequence):
    _fields = [("protocol", core.ObjectIdentifier), ("required_data", core.Any),
               ("optional_data", core.Any, {"optional": True})]


class SecurityInfos(core.SetOf):
    _child_spec = SecurityInfo


@dataclass(frozen=True)
class Dg14Report:
    """What DG14 offers: chip authentication, and the AA signature algorithm it names."""

    chip_authentication: bool
    protocols: tuple[str, ...]
    aa_hash: str | None


@dataclass(frozen=True)
class ActiveResult:
    """A chip that answered the nonce: ``algorithm`` is ``rsa-iso9796-2`` or ``ecdsa``."""

    algorithm: str
    hash_algorithm: str


def new_nonce() -> bytes:
    """A fresh challenge for the chip."""
    return secrets.token_bytes(NONCE_BYTES)


def parse_dg14(data: bytes) -> Dg14Report:
    """DG14's security infos; raise ChipRefused (``dg14_malformed``)."""
    try:
        infos = SecurityInfos.load(tlv.read_single(data, 0x6E, "dg14_malformed"), strict=True)
        if len(infos) > 16:
            raise ChipRefused("dg14_malformed", "too many security infos")
        protocols = []
        aa_hash = None
        for info in infos:
            protocol = info["protocol"].dotted
            protocols.append(protocol)
            if protocol == AA_INFO and info["optional_data"].native is not None:
                oid = core.ObjectIdentifier.load(info["optional_data"].dump()).dotted
                aa_hash = _ECDSA_PLAIN.get(oid)
    except ChipRefused:
        raise
    except Exception:  # asn1crypto reports hostile DER through many exception types
        raise ChipRefused("dg14_malformed", "DG14 is not a set of security infos") from None
    return Dg14Report(any(p.startswith(CHIP_AUTHENTICATION) for p in protocols), tuple(protocols), aa_hash)


def public_key(dg15: bytes) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    """DG15's key (``6F { SubjectPublicKeyInfo }``); raise ChipRefused (``dg15_malformed``)."""
    spki = tlv.read_single(dg15, 0x6F, "dg15_malformed")
    try:
        key = serialization.load_der_public_key(spki)
    except (ValueError, UnsupportedAlgorithm):
        raise ChipRefused("dg15_malformed", "DG15 is not a public key") from None
    if isinstance(key, rsa.RSAPublicKey) and 1024 <= key.key_size <= 4096 and key.key_size % 8 == 0:
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size in _EC_HASH_BY_SIZE:
        return key
    raise ChipRefused("dg15_malformed", "DG15's key type or size is not accepted")


def _rsa(key: rsa.RSAPublicKey, nonce: bytes, signature: bytes) -> ActiveResult:
    numbers = key.public_numbers()
    size = key.key_size // 8
    s = int.from_bytes(signature, "big")
    if len(signature) != size or not 0 < s < numbers.n:
        raise ChipRefused("aa_signature_invalid", "the signature does not fit the key")
    f = pow(s, numbers.e, numbers.n)
    if f & 0xF != 0xC:
        f = numbers.n - f
    block = f.to_bytes(size, "big")
    if block[-1] == 0xBC:
        hash_name, trailer = "sha1", 1
    elif block[-1] == 0xCC and block[-2] in _TRAILERS:
        hash_name, trailer = _TRAILERS[block[-2]], 2
    else:
        raise ChipRefused("aa_signature_invalid", "the signature's trailer is not ISO 9796-2")
    length = hashlib.new(hash_name).digest_size
    if block[0] != 0x6A or size < length + trailer + 2:
        raise ChipRefused("aa_signature_invalid", "the signature's header is not ISO 9796-2 scheme 1")
    m1 = block[1 : size - trailer - length]
    digest = block[size - trailer - length : size - trailer]
    if not hmac.compare_digest(hashlib.new(hash_name, m1 + nonce).digest(), digest):
        raise ChipRefused("aa_signature_invalid", "the chip's signature does not cover the nonce")
    return ActiveResult("rsa-iso9796-2", hash_name)


def _ecdsa(key: ec.EllipticCurvePublicKey, nonce: bytes, signature: bytes, hash_name: str | None) -> ActiveResult:
    size = (key.curve.key_size + 7) // 8
    if len(signature) != 2 * size:
        raise ChipRefused("aa_signature_invalid", "the signature is not r || s for the key's curve")
    name = hash_name or _EC_HASH_BY_SIZE[key.curve.key_size]
    r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    try:
        key.verify(encode_dss_signature(r, s), nonce, ec.ECDSA(_HASH_OBJECTS[name]()))
    except (InvalidSignature, ValueError):
        raise ChipRefused("aa_signature_invalid", "the chip's signature does not cover the nonce") from None
    return ActiveResult("ecdsa", name)


def verify_active(dg15: bytes, nonce: bytes, signature: bytes, dg14: Dg14Report | None = None) -> ActiveResult:
    """Check the chip's answer to ``nonce`` with DG15's key; raise ChipRefused (``aa_signature_invalid``)."""
    if len(nonce) != NONCE_BYTES:
        raise ChipRefused("aa_nonce_invalid", "the nonce is not the one issued")
    if not signature or len(signature) > MAX_SIGNATURE_BYTES:
        raise ChipRefused("aa_signature_invalid", "the signature is empty or too long")
    key = public_key(dg15)
    if isinstance(key, rsa.RSAPublicKey):
        return _rsa(key, nonce, signature)
    return _ecdsa(key, nonce, signature, dg14.aa_hash if dg14 else None)
