"""CMS / PKCS#7 signatures, detached (the content comes apart) or enveloping (the content inside).

pyhanko checks each signer's integrity (message digest, signature over the signed attributes,
content type, signing-certificate attribute) and its RFC 3161 timestamp, and validates the signer's
chain in the purpose's context; :mod:`idp.pki.validation` reads the outcome the way it reads a
sign-in certificate's. Every SignerInfo is reported (at most ``MAX_SIGNATURES``). A signer whose
certificate is revoked now but whose signature carries a trusted timestamp is validated again at
the timestamp's time: revoked after it, the signature holds.
"""

from __future__ import annotations

import datetime
from typing import Any

from asn1crypto import cms, pem
from pyhanko.sign.validation import errors as ph_errors
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko.sign.validation.settings import KeyUsageConstraints

from idp.pki.report import DocumentRejected, SignatureReport, SignerReport
from idp.pki.trust import PurposeTrust
from idp.pki.validation import PathValidator, refusal_for_ades, verdict_for

MAX_SIGNATURES = 20
MAX_CERTIFICATES = 50


def load_signed_data(data: bytes) -> cms.SignedData:
    """The SignedData in DER or PEM; DocumentRejected when it is not one."""
    if pem.detect(data):
        try:
            _, _, data = pem.unarmor(data)
        except ValueError:
            raise DocumentRejected("malformed", "the PEM armour is broken") from None
    try:
        info = cms.ContentInfo.load(data, strict=True)
        if info["content_type"].native != "signed_data":
            raise DocumentRejected("unsupported", "the CMS content is not SignedData")
        signed = info["content"]
        signers = len(signed["signer_infos"])
        certificates = len(signed["certificates"]) if signed["certificates"].native is not None else 0
        signed["encap_content_info"].native  # noqa: B018 - parse the whole structure now, not later
        for signer in signed["signer_infos"]:
            signer.native  # noqa: B018
    except DocumentRejected:
        raise
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError):
        raise DocumentRejected("malformed", "not a readable CMS SignedData structure") from None
    if signers == 0:
        raise DocumentRejected("no_signature", "the CMS structure has no signer")
    if signers > MAX_SIGNATURES:
        raise DocumentRejected("too_many_signatures", f"more than {MAX_SIGNATURES} signers")
    if certificates > MAX_CERTIFICATES:
        raise DocumentRejected("too_many_certificates", f"more than {MAX_CERTIFICATES} certificates")
    return signed


def is_cms(data: bytes) -> bool:
    """Whether the bytes look like a CMS ContentInfo (DER SEQUENCE with the signedData OID, or PEM)."""
    head = data[:64]
    return head.startswith(b"-----BEGIN PKCS7") or head.startswith(b"-----BEGIN CMS") or (
        head[:1] == b"\x30" and b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02" in head)


async def verify_cms(data: bytes, content: bytes | None, trust: PurposeTrust | None,
                     validator: PathValidator) -> list[SignatureReport]:
    """Every signer of a CMS signature (detached when ``content`` is given)."""
    signed = load_signed_data(data)
    encapsulated = signed["encap_content_info"]["content"].native is not None
    if encapsulated and content is not None:
        raise DocumentRejected("malformed", "the signature encloses its content: send no separate content")
    if not encapsulated and content is None:
        raise DocumentRejected("content_missing", "a detached signature needs the signed content")
    reports = []
    for index, signer in enumerate(signed["signer_infos"]):
        one = signed.copy()
        one["signer_infos"] = cms.SignerInfos([signer])
        reports.append(await _verify_one(index, one, content, encapsulated, trust, validator))
    return reports


async def _verify_one(index: int, signed: cms.SignedData, content: bytes | None, encapsulated: bool,
                      trust: PurposeTrust | None, validator: PathValidator) -> SignatureReport:
    coverage = "enveloped_content" if encapsulated else "detached_content"
    checking = validator.context(trust) if trust is not None else None
    if encapsulated:  # checked as the detached signature over the enclosed content it is
        content = bytes(signed["encap_content_info"]["content"])
        signed = signed.copy()
        signed["encap_content_info"] = cms.ContentInfo(
            {"content_type": signed["encap_content_info"]["content_type"]})
    target: Any = content
    try:
        status = await async_validate_detached_cms(
            target, signed, signer_validation_context=checking.context if checking else validator.nothing_trusted(),
            key_usage_settings=KeyUsageConstraints(key_usage=set(), match_all_key_usages=False))
    except ph_errors.SignatureValidationError as exc:
        return SignatureReport(index=index, intact=False, coverage=coverage, signer=None,
                               problems=(exc.failure_message[:200],))
    except (ValueError, TypeError, KeyError) as exc:
        return SignatureReport(index=index, intact=False, coverage=coverage, signer=None,
                               problems=(f"unreadable signer information ({type(exc).__name__})",))
    cert = status.signing_cert
    signer = None
    if checking is not None and trust is not None:
        checked: Any = None  # a broken signature's signer is validated all the same, for the report
        if status.intact and status.valid:
            indication = status.trust_problem_indic
            checked = status.validation_path if indication is None else refusal_for_ades(indication)
        verdict = await verdict_for(trust, cert, checking, checked)
        stamped = trusted_timestamp(status)
        if verdict.status == "revoked" and stamped is not None:
            # a trusted timestamp proves the signature existed then: revoked later, it still holds
            verdict = await verdict_for(trust, cert, validator.context(trust, moment=stamped))
        signer = SignerReport.from_verdict(verdict, cert.subject.human_friendly)
    else:
        signer = SignerReport(subject=cert.subject.human_friendly, issuer=cert.issuer.human_friendly,
                              serial=format(cert.serial_number, "X"), fingerprint="", chain=(),
                              status="untrusted", reason="no certificate is trusted for documents",
                              trusted=False, revocation_source="none", revocation_checked_at=None, acr=None)
    timestamp = status.timestamp_validity
    ts_status = "absent" if timestamp is None else ("valid" if trusted_timestamp(status) else "invalid")
    return SignatureReport(
        index=index, intact=bool(status.intact and status.valid), coverage=coverage, signer=signer,
        signing_time=status.signer_reported_dt.isoformat() if status.signer_reported_dt else None,
        timestamp=timestamp.timestamp.isoformat() if timestamp is not None and ts_status == "valid" else None,
        timestamp_status=ts_status, ltv_material=_has_revocation_material(signed))


def trusted_timestamp(status: Any) -> datetime.datetime | None:
    """The time of the signature's RFC 3161 timestamp when it is intact and its TSA trusted, else None."""
    timestamp = status.timestamp_validity
    if timestamp is None or not (timestamp.intact and timestamp.valid and timestamp.trusted):
        return None
    return timestamp.timestamp if isinstance(timestamp.timestamp, datetime.datetime) else None


def _has_revocation_material(signed: cms.SignedData) -> bool:
    crls = signed["crls"]
    return crls.native is not None and len(crls) > 0
