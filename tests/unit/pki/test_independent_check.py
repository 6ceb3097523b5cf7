"""An independent check agrees with every verdict of the verification service on the corpus.

- PDFs: pyhanko's own validator (``pyhanko.sign.validation``), given only the test PKI's roots and
  fetching revocation from the test responders itself, outside :mod:`idp.pki` (no trust file, no
  outbound guard, no verdict mapping of ours). A timestamped signature is checked the way pyhanko
  documents point-in-time validation: at the time of its (trusted) timestamp.
- CMS: ``openssl cms -verify``; for the timestamped cases ``openssl ts -verify`` checks the
  RFC 3161 token over the signature value and ``openssl cms -verify -attime`` validates the chain at
  the token's time, with the CRL the CA published then (a CRL of that time, signed by the CA).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import subprocess
import urllib.request
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

from idp.net.outbound import OutboundPolicy
from idp.pki.documents import SignatureVerifier
from idp.pki.report import DocumentReport
from idp.pki.trust import read_trust_file
from idp.pki.validation import PathValidator
from tests.fakes import RecordingAudit
from tests.unit.pki.corpus import DOCUMENT, changed_after_signing, signed_pdf, time_stamper, timestamped_cms
from tests.unit.pki.support import TestPki

ROOTS = ("national-root-g1", "national-root-g2", "gov-root")
UTC = datetime.UTC


@pytest.fixture
def verifier(test_pki: TestPki) -> SignatureVerifier:
    return SignatureVerifier(read_trust_file(test_pki.trust_file()), PathValidator(OutboundPolicy(allow_loopback=True)),
                             RecordingAudit())


def ours(verifier: SignatureVerifier, document: bytes, content: bytes | None = None) -> list[str]:
    report: DocumentReport = asyncio.run(verifier.verify(document, content=content, requester="independent-check"))
    return [signature.verdict for signature in report.signatures]


def pyhanko_context(pki: TestPki, moment: datetime.datetime | None = None) -> ValidationContext:
    return ValidationContext(trust_roots=[asn1_x509.Certificate.load(pki[r].der) for r in ROOTS],
                             allow_fetching=True, fetcher_backend=RequestsFetcherBackend(),
                             revocation_mode="hard-fail", moment=moment, retroactive_revinfo=moment is not None)


async def _pyhanko_verdicts(pki: TestPki, pdf: bytes) -> list[str]:
    verdicts = []
    for embedded in PdfFileReader(BytesIO(pdf), strict=False).embedded_signatures:
        status = await async_validate_pdf_signature(embedded, pyhanko_context(pki),
                                                    ts_validation_context=pyhanko_context(pki))
        stamp = status.timestamp_validity
        stamp_trusted = stamp is not None and stamp.valid and stamp.intact and stamp.trusted
        if not status.bottom_line and stamp_trusted and status.intact and status.valid:
            assert stamp is not None
            status = await async_validate_pdf_signature(embedded, pyhanko_context(pki, stamp.timestamp))
        verdicts.append("valid" if status.bottom_line and status.docmdp_ok is not False else "invalid")
    return verdicts


def pyhanko_verdicts(pki: TestPki, pdf: bytes) -> list[str]:
    """pyhanko's own verdict on each signature: intact, trusted (chain, revocation, validity), and no
    disallowed change after it."""
    return asyncio.run(_pyhanko_verdicts(pki, pdf))


def pdf_corpus(pki: TestPki) -> dict[str, bytes]:
    now = datetime.datetime.now(UTC)
    corpus = {name: signed_pdf(pki[name]) for name in ("citizen", "official", "business", "revoked", "expired",
                                                       "untrusted", "wrong-usage")}
    corpus["tampered"] = corpus["citizen"].replace(b"To khai le phi", b"To khai le phu")
    corpus["changed-after-signing"] = changed_after_signing(corpus["citizen"])
    corpus["countersigned"] = signed_pdf(pki["official"], corpus["citizen"], field="ChuKy2")
    corpus["revoked-after-timestamp"] = signed_pdf(pki["revoked"], timestamp=time_stamper(
        pki["tsa"], now - datetime.timedelta(days=2)))  # revoked a day ago, stamped two days ago
    corpus["timestamped-after-revocation"] = signed_pdf(pki["revoked"], timestamp=time_stamper(pki["tsa"], now))
    return corpus


EXPECTED_PDF = {
    "citizen": ["valid"], "official": ["valid"], "business": ["valid"], "revoked": ["invalid"],
    "expired": ["invalid"], "untrusted": ["invalid"], "wrong-usage": ["invalid"], "tampered": ["invalid"],
    "changed-after-signing": ["invalid"], "countersigned": ["valid", "valid"],
    "revoked-after-timestamp": ["valid"], "timestamped-after-revocation": ["invalid"],
}


def test_pyhanko_agrees_on_every_pdf_of_the_corpus(test_pki: TestPki, verifier: SignatureVerifier) -> None:
    corpus = pdf_corpus(test_pki)
    assert set(corpus) == set(EXPECTED_PDF)
    ours_all = {name: ours(verifier, pdf) for name, pdf in corpus.items()}
    theirs_all = {name: pyhanko_verdicts(test_pki, pdf) for name, pdf in corpus.items()}
    assert ours_all == EXPECTED_PDF
    assert theirs_all == ours_all


def _openssl(args: list[str], cwd: Path) -> bool:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=30).returncode == 0


def _crl_of_the_time(pki: TestPki, ca: str, at: datetime.datetime) -> bytes:
    """The CRL ``ca`` published at ``at`` (PEM): the revocations before ``at`` and nothing later."""
    issuer = pki[ca]
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.cert.subject)
               .last_update(at - datetime.timedelta(hours=1)).next_update(at + datetime.timedelta(days=1)))
    for serial, revoked_at in pki.revocations.revoked.items():
        if revoked_at <= at:
            builder = builder.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(serial)
                                                      .revocation_date(revoked_at).build())
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _current_crl(pki: TestPki, ca: str) -> bytes:
    with urllib.request.urlopen(f"{pki.base_url}/crl/{ca}.crl", timeout=5) as answer:  # noqa: S310 - loopback
        der = answer.read()
    return subprocess.run(["openssl", "crl", "-inform", "DER"], input=der, capture_output=True, check=True).stdout


def _timestamp_token(signature: bytes) -> tuple[bytes, bytes]:
    """The RFC 3161 token in the signer's unsigned attributes, and the signature value it stamps."""
    signer = asn1_cms.ContentInfo.load(signature)["content"]["signer_infos"][0]
    for attribute in signer["unsigned_attrs"]:
        if attribute["type"].native == "signature_time_stamp_token":
            return attribute["values"][0].dump(), signer["signature"].native
    raise AssertionError("no timestamp token")


@pytest.mark.parametrize("days_before_now, verdict", [(2, "valid"), (0, "invalid")],
                         ids=["revoked-after-timestamp", "timestamped-after-revocation"])
def test_openssl_agrees_on_timestamped_cms(test_pki: TestPki, verifier: SignatureVerifier, tmp_path: Path,
                                           days_before_now: int, verdict: str) -> None:
    at = datetime.datetime.now(UTC).replace(microsecond=0) - datetime.timedelta(days=days_before_now)
    signature = timestamped_cms(test_pki["revoked"], test_pki["tsa"], at)
    assert ours(verifier, signature, DOCUMENT) == [verdict]

    token, signature_value = _timestamp_token(signature)
    (tmp_path / "sig.der").write_bytes(signature)
    (tmp_path / "doc").write_bytes(DOCUMENT)
    (tmp_path / "token.der").write_bytes(token)
    roots = b"".join(test_pki[r].pem for r in ROOTS)
    (tmp_path / "roots.pem").write_bytes(roots)
    (tmp_path / "tsa-chain.pem").write_bytes(test_pki["tsa"].pem + test_pki["vnpt-ca"].pem)
    # the token is a valid RFC 3161 timestamp over this signature's value, by a TSA under a trusted root
    assert _openssl(["ts", "-verify", "-token_in", "-in", "token.der", "-digest",
                     hashlib.sha256(signature_value).hexdigest(), "-sha256", "-CAfile", "roots.pem",
                     "-untrusted", "tsa-chain.pem"], tmp_path)
    # at the token's time, with the CRL of that time: the chain holds only if not yet revoked then
    (tmp_path / "then.pem").write_bytes(roots + _crl_of_the_time(test_pki, "vnpt-ca", at))
    then = _openssl(["cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.der", "-content", "doc",
                     "-CAfile", "then.pem", "-crl_check", "-purpose", "any", "-attime", str(int(at.timestamp())),
                     "-out", "/dev/null"], tmp_path)
    assert then == (verdict == "valid")
    # today, with today's CRL, the certificate is revoked whatever the timestamp says
    (tmp_path / "now.pem").write_bytes(roots + _current_crl(test_pki, "vnpt-ca"))
    assert not _openssl(["cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.der", "-content", "doc",
                         "-CAfile", "now.pem", "-crl_check", "-purpose", "any", "-out", "/dev/null"], tmp_path)
