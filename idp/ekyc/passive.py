"""Passive authentication of a chip read (ICAO 9303 part 11 §5.1) and the DG1 x DG13 cross-check.

In order: EF.SOD parsed; the signed attributes' message digest equal to the LDS security object's
hash and their signature valid under the Document Signer's key; every data group sent equal to its
hash in the SOD (DG1 and DG13 required), before any of them is parsed; the Document Signer's
certificate issued by a configured CSCA, both valid at the time of signing (the SOD's signing
time, else DG13's issue date), which is not in the future; the Document Signer not revoked by a
CRL its CSCA signed; EF.COM listing what was sent; DG1's MRZ and DG13 well formed and saying the
same thing; the card not expired. The first failure raises ChipRefused with its reason; nothing else escapes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from idp.ekyc.datagroups import ChipRead, check_com
from idp.ekyc.dg1 import Mrz, parse_dg1
from idp.ekyc.dg13 import CitizenData, parse_dg13
from idp.ekyc.errors import ChipRefused
from idp.ekyc.sod import Sod, parse_sod
from idp.ekyc.trust import TrustStore

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha224": hashes.SHA224, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512,
}


@dataclass(frozen=True)
class PassiveResult:
    """A read that passed: the holder's data and how the signature was established."""

    citizen: CitizenData
    mrz: Mrz
    document_signer: str
    csca: str
    signed_at: dt.datetime
    hash_algorithm: str
    data_groups: tuple[int, ...]
    crl_checked: bool


def _verify_signature(sod: Sod) -> None:
    digest = hashlib.new(sod.digest_algorithm, sod.content).digest()
    if not hmac.compare_digest(digest, sod.message_digest):
        raise ChipRefused("sod_digest_mismatch", "the signed digest does not match the LDS security object")
    try:
        key = sod.signer_certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise ChipRefused("sod_signature_invalid", "the Document Signer's key is not usable") from None
    algorithm = _HASHES[sod.digest_algorithm]()
    try:
        if isinstance(key, rsa.RSAPublicKey) and sod.signature_algorithm == "rsassa_pkcs1v15":
            key.verify(sod.signature, sod.signed_attributes, padding.PKCS1v15(), algorithm)
        elif isinstance(key, rsa.RSAPublicKey) and sod.signature_algorithm == "rsassa_pss":
            pss = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=sod.pss_salt_length or 0)
            key.verify(sod.signature, sod.signed_attributes, pss, algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and sod.signature_algorithm == "ecdsa":
            key.verify(sod.signature, sod.signed_attributes, ec.ECDSA(algorithm))
        else:
            raise ChipRefused("sod_signature_invalid", "the signature algorithm does not fit the signer's key")
    except (InvalidSignature, ValueError):
        raise ChipRefused("sod_signature_invalid", "the Document Signer's signature is not valid") from None


def _valid_at(certificate: x509.Certificate, when: dt.datetime) -> bool:
    return certificate.not_valid_before_utc <= when <= certificate.not_valid_after_utc


def _chain(sod: Sod, trust: TrustStore, when: dt.datetime) -> tuple[x509.Certificate, bool]:
    ds = sod.signer_certificate
    issuers = trust.issuers_of(ds)
    if not issuers:
        raise ChipRefused("signer_untrusted", "the Document Signer was not issued by a configured CSCA")
    if not _valid_at(ds, when):
        raise ChipRefused("signer_expired", "the Document Signer's certificate was not valid when it signed")
    valid = [csca for csca in issuers if _valid_at(csca, when)]
    if not valid:
        raise ChipRefused("csca_expired", "the CSCA was not valid when the Document Signer signed")
    csca = valid[0]
    crls = trust.crls_of(csca)
    for crl in crls:
        if crl.get_revoked_certificate_by_serial_number(ds.serial_number) is not None:
            raise ChipRefused("signer_revoked", "the CSCA has revoked the Document Signer's certificate")
    return csca, bool(crls)


def _check_hashes(sod: Sod, read: ChipRead) -> None:
    for number, data in sorted(read.data_groups.items()):
        expected = sod.data_group_hashes.get(number)
        if expected is None:
            raise ChipRefused("dg_not_signed", f"DG{number} has no hash in EF.SOD")
        if not hmac.compare_digest(hashlib.new(sod.hash_algorithm, data).digest(), expected):
            raise ChipRefused("dg_hash_mismatch", f"DG{number} differs from what was signed")


def mrz_name(full_name: str) -> str:
    """A Vietnamese name as the MRZ writes it: no diacritics, family name ``<<`` given names."""
    plain = unicodedata.normalize("NFD", full_name.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(char for char in plain if not unicodedata.combining(char)).upper()
    words = plain.split()
    return (words[0] + "<<" + "<".join(words[1:]))[:30] if words else ""


def cross_check(mrz: Mrz, citizen: CitizenData) -> None:
    """DG1 and DG13 must describe one person on one Vietnamese card; raise ChipRefused (``dg_inconsistent``)."""

    def refuse(what: str) -> ChipRefused:
        return ChipRefused("dg_inconsistent", f"DG1 and DG13 differ: {what}")

    if mrz.document_code[:1] != "I" or mrz.issuing_state != "VNM" or mrz.nationality != "VNM":
        raise refuse("not a Vietnamese identity card")
    if mrz.optional_data_1 != citizen.id_number or mrz.document_number != citizen.id_number[-9:]:
        raise refuse("personal ID number")
    if mrz.date_of_birth != citizen.date_of_birth:
        raise refuse("date of birth")
    if mrz.sex != {"male": "M", "female": "F"}[citizen.sex]:
        raise refuse("sex")
    if citizen.expiry_date is not None and mrz.date_of_expiry != citizen.expiry_date:
        raise refuse("date of expiry")
    line3 = (mrz.primary_identifier.replace(" ", "<") + "<<" + mrz.secondary_identifier.replace(" ", "<"))[:30]
    if line3.rstrip("<") != mrz_name(citizen.full_name).rstrip("<"):
        raise refuse("name")


def verify_passive(read: ChipRead, trust: TrustStore, *, now: dt.datetime | None = None) -> PassiveResult:
    """Passive authentication of ``read`` against ``trust``; raise ChipRefused with the first failure."""
    now = now or dt.datetime.now(dt.UTC)
    sod = parse_sod(read.sod)
    _verify_signature(sod)
    _check_hashes(sod, read)
    mrz = parse_dg1(read.data_groups[1])
    citizen = parse_dg13(read.data_groups[13])
    when = sod.signing_time or dt.datetime.combine(citizen.issue_date, dt.time(12), dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    if when > now + dt.timedelta(days=1):
        raise ChipRefused("signing_time_future", "EF.SOD says it was signed in the future")
    csca, crl_checked = _chain(sod, trust, when)
    if read.com is not None:
        check_com(read.com, read.data_groups)
    cross_check(mrz, citizen)
    if citizen.expiry_date is not None and citizen.expiry_date < now.date():
        raise ChipRefused("document_expired", "the card has expired")
    return PassiveResult(
        citizen=citizen,
        mrz=mrz,
        document_signer=sod.signer_certificate.subject.rfc4514_string(),
        csca=csca.subject.rfc4514_string(),
        signed_at=when,
        hash_algorithm=sod.hash_algorithm,
        data_groups=tuple(sorted(read.data_groups)),
        crl_checked=crl_checked,
    )
