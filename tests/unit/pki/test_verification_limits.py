"""Each verification runs in a child process under hard limits (idp/pki/isolation.py): a document
crafted to be slow, or to need a lot of memory, is refused with a 4xx when the limit is reached, its
work ends then (the child is killed, nothing keeps computing), and the service answers afterwards.

The crafted document is a PDF whose cross-reference stream (FlateDecode, within pyhanko's
decompression ratio) expands to millions of entries: a few KiB that take seconds of CPU to read,
or a few hundred KiB that need more than a hundred MiB of memory."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import zlib

import pytest

from idp.net.outbound import OutboundPolicy
from idp.pki.documents import SignatureVerifier
from idp.pki.report import DocumentRejected
from idp.pki.trust import read_trust_file
from idp.pki.validation import PathValidator
from tests.fakes import RecordingAudit
from tests.unit.pki.corpus import DOCUMENT, cms_signature, signed_pdf
from tests.unit.pki.support import TestPki

MiB = 1024 * 1024


def xref_bomb(entries: int) -> bytes:
    """A PDF whose compressed cross-reference stream lists ``entries`` objects (4 bytes each)."""
    compressor = zlib.compressobj(9)
    chunk = b"\x01\x00\x0a\x00" * 250_000
    data = b"".join(compressor.compress(chunk) for _ in range(entries // 250_000)) + compressor.flush()
    head = (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
    xref = (f"3 0 obj\n<< /Type /XRef /Size {entries} /W [1 2 1] /Root 1 0 R /Filter /FlateDecode "
            f"/Length {len(data)} >>\nstream\n").encode() + data + b"\nendstream\nendobj\n"
    return head + xref + f"startxref\n{len(head)}\n%%EOF\n".encode()


def limited(pki: TestPki, *, time_limit: float = 30, memory_limit: int = 512 * MiB) -> SignatureVerifier:
    return SignatureVerifier(read_trust_file(pki.trust_file()), PathValidator(OutboundPolicy(allow_loopback=True)),
                             RecordingAudit(), time_limit=time_limit, memory_limit=memory_limit, max_concurrent=1)


def refusal(verifier: SignatureVerifier, document: bytes) -> tuple[str, int, float]:
    started = time.monotonic()
    with pytest.raises(DocumentRejected) as caught:
        asyncio.run(verifier.verify(document, requester="limits"))
    return caught.value.reason, caught.value.status_code, time.monotonic() - started


def still_answers(pki: TestPki, verifier: SignatureVerifier) -> None:
    report = asyncio.run(verifier.verify(signed_pdf(pki["citizen"]), requester="limits"))
    assert report.outcome == "valid"


def test_a_slow_document_is_stopped_at_the_time_limit(test_pki: TestPki) -> None:
    verifier = limited(test_pki, time_limit=1.5)
    reason, status, took = refusal(verifier, xref_bomb(1_000_000))  # 4 KiB, about ten seconds of CPU
    assert (reason, status) == ("time_limit", 422)
    assert took < 4
    assert multiprocessing.active_children() == []  # its work ended with the answer
    assert verifier._slots.acquire(blocking=False)  # and its slot is free at once
    verifier._slots.release()
    still_answers(test_pki, verifier)


def test_a_memory_hungry_document_is_stopped_at_the_memory_limit(test_pki: TestPki) -> None:
    verifier = limited(test_pki, memory_limit=64 * MiB)
    reason, status, took = refusal(verifier, xref_bomb(32_000_000))  # 128 MiB of entries from 125 KiB
    assert (reason, status) == ("too_large", 413)
    assert took < 10
    still_answers(test_pki, verifier)
    assert [event.reason for event in verifier.audit.events] == ["too_large", "valid"]  # type: ignore[attr-defined]


def test_revocation_answers_fetched_in_the_child_are_kept(test_pki: TestPki) -> None:
    verifier = limited(test_pki)
    asyncio.run(verifier.verify(cms_signature(test_pki["citizen"]), content=DOCUMENT, requester="limits"))
    test_pki.revocations.ocsp_up = test_pki.revocations.crl_up = False  # only the cache can answer now
    report = asyncio.run(verifier.verify(cms_signature(test_pki["citizen"]), content=DOCUMENT, requester="limits"))
    assert report.outcome == "valid"
