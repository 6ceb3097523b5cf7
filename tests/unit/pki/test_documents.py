"""The verification service on the generated corpus: each valid, tampered, revoked (before signing,
and after a trusted timestamp), untrusted and expired case classified, OpenSSL agreeing on the CMS
ones, and every attempt audited by hash."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import io
import logging
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers as pyhanko_signers
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata

from idp.net.outbound import OutboundPolicy
from idp.pki.documents import SignatureVerifier
from idp.pki.report import DocumentRejected, DocumentReport
from idp.pki.trust import NO_TRUST, read_trust_file
from idp.pki.validation import PathValidator
from keys.hsm import open_token_session
from tests.fakes import RecordingAudit
from tests.unit.keys.softhsm import SoftHsm, softhsm  # noqa: F401 - fixture
from tests.unit.pki.corpus import (
    DOCUMENT,
    blank_pdf,
    changed_after_signing,
    cms_signature,
    signed_pdf,
    signed_xml,
    time_stamper,
    timestamped_cms,
)
from tests.unit.pki.support import TestPki
from tests.unit.pki.token import put_on_token

# certificate in the test PKI -> (the signature's verdict, the signer's status)
CASES = {
    "citizen": ("valid", "trusted"),
    "official": ("valid", "trusted"),
    "business": ("valid", "trusted"),
    "revoked": ("invalid", "revoked"),  # revoked the day before it signed
    "expired": ("invalid", "expired"),
    "untrusted": ("invalid", "untrusted"),
    "wrong-usage": ("invalid", "wrong_key_usage"),
}


@pytest.fixture
def verifier(test_pki: TestPki) -> SignatureVerifier:
    return SignatureVerifier(read_trust_file(test_pki.trust_file()), PathValidator(OutboundPolicy(allow_loopback=True)),
                             RecordingAudit())


def verify(verifier: SignatureVerifier, document: bytes, content: bytes | None = None) -> DocumentReport:
    return asyncio.run(verifier.verify(document, content=content, requester="portal"))


def one(report: DocumentReport) -> tuple[str, str | None, bool]:
    assert len(report.signatures) == 1
    signature = report.signatures[0]
    return signature.verdict, signature.signer.status if signature.signer else None, signature.intact


@pytest.mark.parametrize("name", sorted(CASES))
def test_cms_detached_and_enveloping(test_pki: TestPki, verifier: SignatureVerifier, name: str) -> None:
    verdict, status = CASES[name]
    detached = cms_signature(test_pki[name])
    assert one(verify(verifier, detached, DOCUMENT)) == (verdict, status, True)
    assert one(verify(verifier, detached, DOCUMENT + b".")) == ("invalid", status, False)  # tampered
    enveloping = verify(verifier, cms_signature(test_pki[name], detached=False))
    assert (enveloping.format, one(enveloping)) == ("cms", (verdict, status, True))
    assert enveloping.signatures[0].coverage == "enveloped_content"


@pytest.mark.parametrize("name", ["citizen", "revoked", "expired", "untrusted"])
def test_pdf(test_pki: TestPki, verifier: SignatureVerifier, name: str) -> None:
    verdict, status = CASES[name]
    signed = signed_pdf(test_pki[name])
    report = verify(verifier, signed)
    assert (report.format, one(report)) == ("pdf", (verdict, status, True))
    assert report.signatures[0].coverage == "whole_document"
    tampered = signed.replace(b"To khai le phi", b"To khai le phu")
    assert one(verify(verifier, tampered))[::2] == ("invalid", False)


def test_pdf_changed_after_signing_and_countersigned(test_pki: TestPki, verifier: SignatureVerifier) -> None:
    signed = signed_pdf(test_pki["citizen"])
    changed = verify(verifier, changed_after_signing(signed)).signatures[0]
    assert (changed.intact, changed.coverage, changed.verdict) == (True, "modified_after_signing", "invalid")
    both = verify(verifier, signed_pdf(test_pki["official"], signed, field="ChuKy2"))
    assert [(s.verdict, s.coverage) for s in both.signatures] == [
        ("valid", "signed_revision_then_form_filling_or_signatures"), ("valid", "whole_document")]
    assert both.outcome == "valid"


@pytest.mark.parametrize("name", ["citizen", "revoked", "expired", "untrusted"])
def test_xml(test_pki: TestPki, verifier: SignatureVerifier, name: str) -> None:
    verdict, status = CASES[name]
    signed = signed_xml(test_pki[name])
    report = verify(verifier, signed)
    assert (report.format, one(report)) == ("xml", (verdict, status, True))
    assert one(verify(verifier, signed.replace(b"1000000", b"9000000")))[::2] == ("invalid", False)


def test_xades_signed_properties_are_checked(test_pki: TestPki, verifier: SignatureVerifier) -> None:
    signed = signed_xml(test_pki["official"], xades=True)
    signature = verify(verifier, signed).signatures[0]
    assert (signature.verdict, signature.coverage) == ("valid", "whole_document")
    assert signature.signing_time is not None  # from the signed properties
    # another certificate's digest in SigningCertificate: the signed properties no longer match
    other = base64.b64encode(hashlib.sha256(test_pki["citizen"].der).digest())
    tampered = re.sub(rb"(<ds:DigestValue>)[^<]+(</ds:DigestValue></xades:CertDigest>)", rb"\g<1>" + other + rb"\g<2>",
                      signed, count=1)
    assert tampered != signed
    assert verify(verifier, tampered).signatures[0].intact is False


def test_report_names_the_signer_and_where_revocation_came_from(test_pki: TestPki,
                                                               verifier: SignatureVerifier) -> None:
    signature = verify(verifier, cms_signature(test_pki["business"]), DOCUMENT).signatures[0]
    assert signature.signer is not None
    assert (signature.signer.tax_code, signature.signer.personal_id, signature.signer.acr) == ("0101234567", None,
                                                                                               "pki-hw")
    assert signature.signer.revocation_source == "ocsp" and signature.signer.revocation_checked_at
    assert "VNPT Certification Authority" in signature.signer.chain[1]
    assert signature.signing_time and signature.timestamp_status == "absent"


def test_no_personal_data_reaches_the_logs(test_pki: TestPki, verifier: SignatureVerifier,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("revoked", "untrusted", "expired"):
        verify(verifier, cms_signature(test_pki[name]), DOCUMENT)
        verify(verifier, signed_pdf(test_pki[name]))
    text = " ".join(record.getMessage() for record in caplog.records)
    assert "CCCD" not in text and "Lê Văn Cường" not in text and "Nguy" not in text


def test_revoked_after_a_trusted_timestamp_holds_revoked_before_does_not(test_pki: TestPki,
                                                                          verifier: SignatureVerifier) -> None:
    now = datetime.datetime.now(datetime.UTC)
    before = verify(verifier, timestamped_cms(test_pki["revoked"], test_pki["tsa"], now - datetime.timedelta(days=2)),
                    DOCUMENT).signatures[0]  # the certificate was revoked a day ago
    assert (before.verdict, before.timestamp_status) == ("valid", "valid")
    assert before.timestamp is not None and before.timestamp < (now - datetime.timedelta(days=1)).isoformat()
    after = verify(verifier, timestamped_cms(test_pki["revoked"], test_pki["tsa"], now), DOCUMENT).signatures[0]
    assert (after.verdict, after.signer.status if after.signer else None) == ("invalid", "revoked")
    assert after.timestamp_status == "valid"
    pdf = verify(verifier, signed_pdf(test_pki["revoked"], timestamp=time_stamper(
        test_pki["tsa"], now - datetime.timedelta(days=2)))).signatures[0]
    assert (pdf.verdict, pdf.timestamp_status) == ("valid", "valid")
    late = verify(verifier, signed_pdf(test_pki["revoked"], timestamp=time_stamper(test_pki["tsa"], now)))
    assert late.signatures[0].verdict == "invalid"


def test_without_trust_a_signature_is_intact_but_never_trusted(test_pki: TestPki) -> None:
    verifier = SignatureVerifier(NO_TRUST, PathValidator(OutboundPolicy()), RecordingAudit())
    assert one(verify(verifier, cms_signature(test_pki["citizen"]), DOCUMENT)) == ("invalid", "untrusted", True)


def test_every_verification_is_audited_by_hash_never_the_document(test_pki: TestPki,
                                                                  verifier: SignatureVerifier) -> None:
    signature = cms_signature(test_pki["citizen"])
    verify(verifier, signature, DOCUMENT)
    with pytest.raises(DocumentRejected):
        verify(verifier, b"\x30\x03\x02\x01")
    audit = verifier.audit
    assert isinstance(audit, RecordingAudit)
    first, second = audit.events
    assert (first.type, first.outcome, first.client_id, first.reason) == ("signature.verified", "success", "portal",
                                                                           "valid")
    assert first.details["sha256"] == hashlib.sha256(signature).hexdigest()
    assert (second.outcome, second.reason) == ("failure", "unsupported")
    for event in audit.events:
        text = repr(event)
        assert "Nguy" not in text and "001099012345" not in text and "khai" not in text


@pytest.mark.parametrize("name", sorted(CASES))
def test_openssl_agrees_on_cms(test_pki: TestPki, verifier: SignatureVerifier, tmp_path: Path, name: str) -> None:
    """``openssl cms -verify`` with the same roots and the issuing CA's CRL reaches the same verdict,
    on the signature and on the tampered content."""
    verdict, _ = CASES[name]
    signature = cms_signature(test_pki[name])
    (tmp_path / "sig.der").write_bytes(signature)
    (tmp_path / "doc").write_bytes(DOCUMENT)
    (tmp_path / "tampered").write_bytes(DOCUMENT + b".")
    store = b"".join(test_pki[r].pem for r in ("national-root-g1", "national-root-g2", "gov-root"))
    for ca in ("vnpt-ca", "viettel-ca", "gov-ca", "rogue-ca"):  # CRLs go in the CA file: openssl reads both
        with urllib.request.urlopen(f"{test_pki.base_url}/crl/{ca}.crl", timeout=5) as answer:  # noqa: S310
            der = answer.read()
        store += subprocess.run(["openssl", "crl", "-inform", "DER"], input=der, capture_output=True,
                                check=True).stdout
    (tmp_path / "store.pem").write_bytes(store)

    def openssl(content: str) -> bool:
        purpose = "smimesign" if name == "wrong-usage" else "any"  # smimesign: a signing key usage
        result = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.der",
                                 "-content", content, "-CAfile", "store.pem", "-crl_check", "-purpose", purpose,
                                 "-out", "/dev/null"], cwd=tmp_path, capture_output=True, timeout=30)
        return result.returncode == 0

    assert openssl("doc") == (verdict == "valid")
    assert one(verify(verifier, signature, DOCUMENT))[0] == verdict
    assert openssl("tampered") is False
    assert one(verify(verifier, signature, DOCUMENT + b"."))[0] == "invalid"


def test_a_pdf_signed_on_the_softhsm_token_is_valid(test_pki: TestPki, verifier: SignatureVerifier,
                                                    softhsm: SoftHsm) -> None:  # noqa: F811
    """The key never leaves the token: pyhanko signs through PKCS#11 (the same key the official's
    sign-in uses); the service finds the signature valid and the signer trusted at pki-hw."""
    put_on_token(softhsm, test_pki["official"], "official")
    session, lock = open_token_session(softhsm.module, softhsm.token_label, softhsm.pin)
    official = test_pki["official"]
    signer = PKCS11Signer(session, key_label="official", signing_cert=asn1_x509.Certificate.load(official.der),
                          ca_chain=[asn1_x509.Certificate.load(c.der) for c in official.chain()[1:]],
                          use_raw_mechanism=True)
    with lock:
        pdf = pyhanko_signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(blank_pdf())),
                                       PdfSignatureMetadata(field_name="ChuKy1"), signer=signer).getvalue()
    signature = verify(verifier, pdf).signatures[0]
    assert (signature.verdict, signature.coverage) == ("valid", "whole_document")
    assert signature.signer is not None and signature.signer.acr == "pki-hw"
