"""EF.SOD: the document security object (ICAO 9303 part 10 §4.6.2, part 11 §5.1).

EF.SOD is ``77 { ContentInfo }``, a CMS SignedData (RFC 5652) whose encapsulated content is the
``LDSSecurityObject`` (the hash of every data group), signed by a Document Signer whose certificate
travels inside. This module only parses, strictly and within limits; :mod:`idp.ekyc.passive`
verifies. Hostile input of any shape raises ChipRefused (``sod_malformed``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from asn1crypto import algos, cms, core
from cryptography import x509

from idp.ekyc import tlv
from idp.ekyc.errors import ChipRefused

MAX_SOD_BYTES = 32 * 1024
MAX_DATA_GROUPS = 16
MAX_CERTIFICATES = 4
LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
REASON = "sod_malformed"
HASHES = frozenset({"sha224", "sha256", "sha384", "sha512"})


class DataGroupHash(core.Sequence):
    _fields = [("data_group_number", core.Integer), ("data_group_hash_value", core.OctetString)]


class DataGroupHashValues(core.SequenceOf):
    _child_spec = DataGroupHash


class LdsVersionInfo(core.Sequence):
    _fields = [("lds_version", core.PrintableString), ("unicode_version", core.PrintableString)]


class LdsSecurityObject(core.Sequence):
    """``LDSSecurityObject`` of ICAO 9303 part 10 (version 0, or 1 with ``ldsVersionInfo``)."""

    _fields = [
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", DataGroupHashValues),
        ("lds_version_info", LdsVersionInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class Sod:
    """What EF.SOD says: the data-group hashes and the Document Signer's signature over them."""

    hash_algorithm: str
    data_group_hashes: dict[int, bytes]
    content: bytes
    signer_certificate: x509.Certificate
    signed_attributes: bytes
    message_digest: bytes
    digest_algorithm: str
    signature_algorithm: str
    pss_salt_length: int | None
    signature: bytes
    signing_time: dt.datetime | None


def _refuse(message: str) -> ChipRefused:
    return ChipRefused(REASON, message)


def _signer_certificate(signed: cms.SignedData, signer: cms.SignerInfo) -> x509.Certificate:
    certificates = signed["certificates"]
    if certificates.native is None or not 0 < len(certificates) <= MAX_CERTIFICATES:
        raise _refuse("the Document Signer's certificate is missing or certificates are too many")
    sid = signer["sid"]
    for choice in certificates:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if cert.issuer == wanted["issuer"] and cert.serial_number == wanted["serial_number"].native:
                return x509.load_der_x509_certificate(cert.dump())
        elif sid.name == "subject_key_identifier" and cert.key_identifier == sid.chosen.native:
            return x509.load_der_x509_certificate(cert.dump())
    raise _refuse("no certificate matches the signer")


def _attributes(signer: cms.SignerInfo) -> tuple[bytes, bytes, dt.datetime | None]:
    attrs = signer["signed_attrs"]
    if attrs.native is None or len(attrs) == 0:
        raise _refuse("signed attributes are missing")
    values: dict[str, object] = {}
    for attr in attrs:
        name = attr["type"].native
        if name in values:
            raise _refuse(f"signed attribute {name} appears twice")
        if len(attr["values"]) != 1:
            raise _refuse(f"signed attribute {name} must have one value")
        values[name] = attr["values"][0].native
    if values.get("content_type") != LDS_SECURITY_OBJECT:
        raise _refuse("signed content type is not the LDS security object")
    digest = values.get("message_digest")
    if not isinstance(digest, bytes):
        raise _refuse("message digest attribute is missing")
    signing_time = values.get("signing_time")
    if signing_time is not None and not isinstance(signing_time, dt.datetime):
        raise _refuse("signing time is not a time")
    der = attrs.dump()
    return b"\x31" + der[1:], digest, signing_time


def _lds(content: bytes) -> tuple[str, dict[int, bytes]]:
    lds = LdsSecurityObject.load(content, strict=True)
    version = lds["version"].native
    if version not in (0, 1) or (version == 1) != (lds["lds_version_info"].native is not None):
        raise _refuse("unknown LDS security object version")
    hash_algorithm = lds["hash_algorithm"]["algorithm"].native
    if hash_algorithm not in HASHES:
        raise _refuse("data-group hash algorithm not accepted")
    entries = lds["data_group_hash_values"]
    if not 0 < len(entries) <= MAX_DATA_GROUPS:
        raise _refuse("number of data-group hashes out of range")
    hashes: dict[int, bytes] = {}
    for entry in entries:
        number = entry["data_group_number"].native
        value = entry["data_group_hash_value"].native
        if not 1 <= number <= 16 or number in hashes or not 20 <= len(value) <= 64:
            raise _refuse("data-group hash entry out of range or repeated")
        hashes[number] = value
    return hash_algorithm, hashes


def _parse(data: bytes) -> Sod:
    info = cms.ContentInfo.load(tlv.read_single(data, 0x77, REASON), strict=True)
    if info["content_type"].native != "signed_data":
        raise _refuse("not a CMS SignedData")
    signed = info["content"]
    if len(signed["signer_infos"]) != 1:
        raise _refuse("EF.SOD must have exactly one signer")
    signer = signed["signer_infos"][0]
    encap = signed["encap_content_info"]
    if encap["content_type"].dotted != LDS_SECURITY_OBJECT:
        raise _refuse("encapsulated content is not the LDS security object")
    content = encap["content"]
    if content.native is None:
        raise _refuse("encapsulated content is missing")
    content_bytes = content.contents
    hash_algorithm, hashes = _lds(content_bytes)
    signed_attributes, message_digest, signing_time = _attributes(signer)
    digest_algorithm = signer["digest_algorithm"]["algorithm"].native
    if digest_algorithm not in HASHES:
        raise _refuse("signature digest algorithm not accepted")
    signature_algo = signer["signature_algorithm"]
    algorithm = signature_algo.signature_algo
    salt: int | None = None
    if algorithm == "rsassa_pss":
        params = signature_algo["parameters"]
        if params["hash_algorithm"]["algorithm"].native != digest_algorithm:
            raise _refuse("PSS hash differs from the digest algorithm")
        salt = int(params["salt_length"].native)
    elif algorithm not in ("rsassa_pkcs1v15", "ecdsa"):
        raise _refuse("signature algorithm not accepted")
    return Sod(
        hash_algorithm=hash_algorithm,
        data_group_hashes=hashes,
        content=content_bytes,
        signer_certificate=_signer_certificate(signed, signer),
        signed_attributes=signed_attributes,
        message_digest=message_digest,
        digest_algorithm=digest_algorithm,
        signature_algorithm=algorithm,
        pss_salt_length=salt,
        signature=signer["signature"].native,
        signing_time=signing_time,
    )


def parse_sod(data: bytes) -> Sod:
    """EF.SOD's content and signature; raise ChipRefused on anything but a well-formed one."""
    if len(data) > MAX_SOD_BYTES:
        raise _refuse("EF.SOD is too long")
    try:
        return _parse(data)
    except ChipRefused:
        raise
    except Exception:  # asn1crypto and cryptography report hostile DER through many exception types
        raise _refuse("EF.SOD is not valid DER of the expected structure") from None
