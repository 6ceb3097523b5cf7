"""Malformed and hostile documents get a 4xx reason, in bounded time: never an exception of
another kind (a 5xx), never a hang. Mutations are seeded, so a failure is reproducible."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from idp.net.outbound import OutboundPolicy
from idp.pki.documents import SignatureVerifier
from idp.pki.report import DocumentRejected, DocumentReport
from idp.pki.trust import read_trust_file
from idp.pki.validation import PathValidator
from tests.fakes import RecordingAudit
from tests.unit.pki.corpus import DOCUMENT, cms_signature, signed_pdf, signed_xml
from tests.unit.pki.support import TestPki

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"""
XXE_NETWORK = b"""<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/dtd"><r/>"""


@pytest.fixture
def verifier(test_pki: TestPki) -> SignatureVerifier:
    return SignatureVerifier(read_trust_file(test_pki.trust_file()), PathValidator(OutboundPolicy(allow_loopback=True)),
                             RecordingAudit(), max_bytes=2 * 1024 * 1024, time_limit=10)


def outcome(verifier: SignatureVerifier, document: bytes, content: bytes | None = None) -> DocumentReport | int:
    """The report, or the 4xx status of the refusal; anything else fails the test."""
    started = time.monotonic()
    try:
        return asyncio.run(verifier.verify(document, content=content, requester="fuzz"))
    except DocumentRejected as exc:
        assert 400 <= exc.status_code < 500
        return exc.status_code
    finally:
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE, XXE_NETWORK], ids=["billion-laughs", "xxe-file", "xxe-url"])
def test_xml_with_a_dtd_is_refused(verifier: SignatureVerifier, document: bytes) -> None:
    with pytest.raises(DocumentRejected) as caught:
        asyncio.run(verifier.verify(document, requester="fuzz"))
    assert caught.value.reason == "dtd_refused" and caught.value.status_code == 400


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe-file"])
def test_xml_with_a_dtd_in_utf16_is_refused_too(verifier: SignatureVerifier, document: bytes) -> None:
    utf16 = document.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>').decode()
    with pytest.raises(DocumentRejected) as caught:
        asyncio.run(verifier.verify(utf16.encode("utf-16"), format="xml", requester="fuzz"))
    assert caught.value.reason == "dtd_refused"


def test_xml_reference_to_a_url_is_not_followed(test_pki: TestPki, verifier: SignatureVerifier) -> None:
    signed = signed_xml(test_pki["citizen"]).replace(b'URI=""', b'URI="http://127.0.0.1:9/x"')
    report = outcome(verifier, signed)
    assert isinstance(report, DocumentReport) and report.signatures[0].intact is False


def test_truncated_der_every_length(test_pki: TestPki, verifier: SignatureVerifier) -> None:
    signature = cms_signature(test_pki["citizen"])
    for length in range(0, len(signature), 37):
        assert outcome(verifier, signature[:length], DOCUMENT) in (400, 413)


def test_flipped_bytes_in_cms(test_pki: TestPki, verifier: SignatureVerifier) -> None:
    signature = cms_signature(test_pki["citizen"])
    rng = random.Random(23)
    for _ in range(60):
        mutated = bytearray(signature)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        outcome(verifier, bytes(mutated), DOCUMENT)


def test_flipped_and_truncated_pdfs(test_pki: TestPki, verifier: SignatureVerifier) -> None:
    pdf = signed_pdf(test_pki["citizen"])
    rng = random.Random(2026)
    for _ in range(25):
        mutated = bytearray(pdf)
        start = rng.randrange(len(mutated))
        mutated[start:start + rng.randint(1, 16)] = rng.randbytes(rng.randint(0, 16))
        outcome(verifier, bytes(mutated))
    for length in (10, 200, len(pdf) // 2, len(pdf) - 40):
        outcome(verifier, pdf[:length])


def test_deeply_nested_pdf_object(verifier: SignatureVerifier) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    pdf = (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /X " + body + b" >>\nendobj\n"
           b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
    assert outcome(verifier, pdf) == 400


def test_huge_input_is_refused_before_reading(verifier: SignatureVerifier) -> None:
    assert outcome(verifier, b"%PDF-1.7\n" + b"0" * (3 * 1024 * 1024)) == 413
    assert outcome(verifier, cms_signature_placeholder(), b"x" * (3 * 1024 * 1024)) == 413


def cms_signature_placeholder() -> bytes:
    return b"\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"


def test_neither_format(verifier: SignatureVerifier) -> None:
    assert outcome(verifier, b"just some text") == 400
    assert outcome(verifier, b"") == 400


def test_time_limit(test_pki: TestPki) -> None:
    slow = SignatureVerifier(read_trust_file(test_pki.trust_file()), PathValidator(OutboundPolicy(allow_loopback=True)),
                             RecordingAudit(), time_limit=0.001)
    with pytest.raises(DocumentRejected) as caught:
        asyncio.run(slow.verify(signed_pdf(test_pki["citizen"]), requester="fuzz"))
    assert (caught.value.reason, caught.value.status_code) == ("time_limit", 422)


def test_an_overrun_is_stopped_and_beyond_the_slots_is_429(test_pki: TestPki) -> None:
    verifier = SignatureVerifier(read_trust_file(test_pki.trust_file()),
                                 PathValidator(OutboundPolicy(allow_loopback=True)), RecordingAudit(),
                                 time_limit=0.001, max_concurrent=1)
    document = signed_pdf(test_pki["citizen"])
    with pytest.raises(DocumentRejected) as overrun:
        asyncio.run(verifier.verify(document, requester="fuzz"))
    assert overrun.value.reason == "time_limit"
    assert verifier._slots.acquire(blocking=False)  # the overrunning child was killed: its slot is free
    try:  # every slot busy: the next request is told to come back, not queued
        with pytest.raises(DocumentRejected) as busy:
            asyncio.run(verifier.verify(document, requester="fuzz"))
        assert (busy.value.reason, busy.value.status_code) == ("busy", 429)
    finally:
        verifier._slots.release()
