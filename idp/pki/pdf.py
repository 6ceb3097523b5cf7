"""PDF signatures (PAdES and adbe.pkcs7.detached), with pyhanko.

pyhanko reads the file under its decode limits (decompression budget per stream and per
document), checks each embedded signature's integrity and which bytes it covers, and compares
later revisions with the signed one (an incremental update that changes the content is
``modified_after_signing``; adding validation material or a later signature is allowed). The
signer's chain is validated in the purpose's context and read by :mod:`idp.pki.validation`.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis.policy_api import ModificationLevel
from pyhanko.sign.validation import errors as ph_errors
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel

from idp.pki.cms import trusted_timestamp
from idp.pki.report import DocumentRejected, SignatureReport, SignerReport
from idp.pki.trust import PurposeTrust
from idp.pki.validation import PathValidator, refusal_for_ades, verdict_for

MAX_SIGNATURES = 20
MAX_PAGES = 2000
MAX_REVISIONS = 50


def is_pdf(data: bytes) -> bool:
    return b"%PDF-" in data[:1024]


def open_pdf(data: bytes) -> PdfFileReader:
    """The PDF's reader; DocumentRejected when it cannot be read or breaks a limit."""
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        pages = int(reader.root["/Pages"]["/Count"])
        revisions = reader.xrefs.total_revisions
        signatures = reader.embedded_signatures
    except (PdfError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError,
            OverflowError):  # MemoryError goes on: past the memory limit is "too large", a 413
        raise DocumentRejected("malformed", "not a readable PDF document") from None
    if pages > MAX_PAGES or pages < 0:
        raise DocumentRejected("too_many_pages", f"more than {MAX_PAGES} pages")
    if revisions > MAX_REVISIONS:
        raise DocumentRejected("too_many_revisions", f"more than {MAX_REVISIONS} revisions")
    if len(signatures) > MAX_SIGNATURES:
        raise DocumentRejected("too_many_signatures", f"more than {MAX_SIGNATURES} signatures")
    return reader


async def verify_pdf(data: bytes, trust: PurposeTrust | None, validator: PathValidator) -> list[SignatureReport]:
    """Every signature of the PDF, in document order."""
    reader = open_pdf(data)
    has_dss = "/DSS" in reader.root
    reports = []
    for index, embedded in enumerate(reader.embedded_signatures):
        checking = validator.context(trust) if trust is not None else None
        try:
            status = await async_validate_pdf_signature(
                embedded, signer_validation_context=checking.context if checking else validator.nothing_trusted(),
                key_usage_settings=KeyUsageConstraints(key_usage=set(), match_all_key_usages=False))
        except (ph_errors.SignatureValidationError, PdfError, ValueError, TypeError, KeyError) as exc:
            reports.append(SignatureReport(index=index, intact=False, coverage="unknown", signer=None,
                                           problems=(f"unreadable signature ({type(exc).__name__})",)))
            continue
        cert = status.signing_cert
        if checking is not None and trust is not None:
            checked: Any = None
            if status.intact and status.valid:
                indication = status.trust_problem_indic
                checked = status.validation_path if indication is None else refusal_for_ades(indication)
            verdict = await verdict_for(trust, cert, checking, checked)
            stamped = trusted_timestamp(status)
            if verdict.status == "revoked" and stamped is not None:  # revoked after a trusted timestamp: holds
                verdict = await verdict_for(trust, cert, validator.context(trust, moment=stamped))
            signer = SignerReport.from_verdict(verdict, cert.subject.human_friendly)
        else:
            signer = SignerReport(subject=cert.subject.human_friendly, issuer=cert.issuer.human_friendly,
                                  serial=format(cert.serial_number, "X"), fingerprint="", chain=(),
                                  status="untrusted", reason="no certificate is trusted for documents",
                                  trusted=False, revocation_source="none", revocation_checked_at=None, acr=None)
        timestamp = status.timestamp_validity
        ts_status = "absent" if timestamp is None else ("valid" if trusted_timestamp(status) else "invalid")
        reports.append(SignatureReport(
            index=index, intact=bool(status.intact and status.valid), coverage=_coverage(status), signer=signer,
            signing_time=status.signer_reported_dt.isoformat() if status.signer_reported_dt else None,
            timestamp=timestamp.timestamp.isoformat() if timestamp is not None and ts_status == "valid" else None,
            timestamp_status=ts_status, ltv_material=has_dss))
    return reports


def _coverage(status: Any) -> str:
    coverage = status.coverage
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return "whole_document"
    if coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        level = status.modification_level
        if status.docmdp_ok is False or level is None:
            return "modified_after_signing"
        if level <= ModificationLevel.LTA_UPDATES:
            return "signed_revision_then_validation_data"
        if level == ModificationLevel.FORM_FILLING:  # a later signature, or a form filled in, as permitted
            return "signed_revision_then_form_filling_or_signatures"
        return "modified_after_signing"
    return "modified_after_signing"
