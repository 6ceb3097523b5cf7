"""The signature verification service: one document in, one report out, one audit event.

:meth:`SignatureVerifier.verify` recognises the format (PDF, CMS/PKCS#7, XML) unless told, keeps
to the limits (size here; pages, revisions, signatures and nesting in each format's module),
runs the verification in a child process under hard limits (idp/pki/isolation.py: wall and CPU
time, address space; an overrunning child is killed, and its document refused with 422 or 413), at
most a few at once per process (beyond them, 429), and records ``signature.verified``
with the document's SHA-256, the requester, the format and each signature's verdict, never the
document nor who signed it. Nothing is kept after the answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from idp.audit.events import AuditContext, AuditEvent, AuditLog
from idp.audit.types import FAILURE, SIGNATURE_VERIFIED, SUCCESS
from idp.pki import cms, pdf, xmldsig
from idp.pki.identities import SignerIdentities
from idp.pki.isolation import LimitExceeded, Limits, run_limited
from idp.pki.report import DocumentRejected, DocumentReport, SignatureReport
from idp.pki.trust import Trust
from idp.pki.validation import PathValidator

Format = Literal["pdf", "cms", "xml"]
FORMATS: tuple[Format, ...] = ("pdf", "cms", "xml")
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
TIME_LIMIT_SECONDS = 30.0
MEMORY_LIMIT_BYTES = 512 * 1024 * 1024  # what one verification may allocate beyond what its process had
MAX_CONCURRENT = 4  # verifications (child processes) at once per process; more get 429

logger = logging.getLogger(__name__)


def _over_limit(kind: str, time_limit: float) -> DocumentRejected:
    if kind == "memory":
        return DocumentRejected("too_large", "the document needs more memory than a verification may use",
                                status_code=413)
    if kind == "time":
        return DocumentRejected("time_limit", f"verification took longer than {time_limit:g} s", status_code=422)
    return DocumentRejected("malformed", "the document cannot be read (its verification stopped)")


def detect_format(document: bytes) -> Format:
    if pdf.is_pdf(document):
        return "pdf"
    if cms.is_cms(document):
        return "cms"
    if xmldsig.is_xml(document):
        return "xml"
    raise DocumentRejected("unsupported", "not a PDF, CMS/PKCS#7 or XML document")


@dataclass
class SignatureVerifier:
    """Verifies signed documents against the ``documents`` purpose of ``trust``."""

    trust: Trust
    validator: PathValidator
    audit: AuditLog
    max_bytes: int = MAX_DOCUMENT_BYTES
    time_limit: float = TIME_LIMIT_SECONDS
    memory_limit: int = MEMORY_LIMIT_BYTES
    max_concurrent: int = MAX_CONCURRENT
    identities: SignerIdentities | None = None

    def __post_init__(self) -> None:
        self._workers = ThreadPoolExecutor(max_workers=self.max_concurrent, thread_name_prefix="signature-verify")
        self._slots = threading.BoundedSemaphore(self.max_concurrent)

    async def verify(self, document: bytes, *, content: bytes | None = None, format: Format | None = None,
                     requester: str, context: AuditContext | None = None,
                     known_to: str | None = None) -> DocumentReport:
        """The report on every signature; DocumentRejected (a 4xx) when the document cannot be
        verified. Either way the attempt is audited. ``known_to``: a client id; each signer this
        client knows (idp/pki/identities.py) gets its ``sub``."""
        digest = hashlib.sha256(document).hexdigest()
        try:
            report = await self._verify(document, content, format, digest)
            if known_to is not None and self.identities is not None:
                report = await asyncio.to_thread(self._known, report, known_to, self.identities)
        except DocumentRejected as exc:
            self._record(requester, context, FAILURE, exc.reason, {"sha256": digest, "size": len(document)})
            raise
        details = {"sha256": report.sha256, "size": report.size, "format": report.format,
                   "signatures": [s.verdict for s in report.signatures],
                   "signers": [s.signer.fingerprint for s in report.signatures if s.signer is not None]}
        self._record(requester, context, SUCCESS if report.outcome == "valid" else FAILURE, report.outcome, details)
        return report

    async def _verify(self, document: bytes, content: bytes | None, format: Format | None,
                      digest: str) -> DocumentReport:
        if len(document) > self.max_bytes or (content is not None and len(content) > self.max_bytes):
            raise DocumentRejected("too_large", f"documents are limited to {self.max_bytes} bytes", status_code=413)
        if not document:
            raise DocumentRejected("empty", "the document is empty")
        kind = format or detect_format(document)
        if content is not None and kind != "cms":
            raise DocumentRejected("malformed", "separate content goes only with a detached CMS signature")
        if not self._slots.acquire(blocking=False):
            raise DocumentRejected("busy", "too many verifications at once; try again shortly", status_code=429)
        work = asyncio.get_running_loop().run_in_executor(self._workers, self._run_in_slot, kind, document, content)
        signatures = await asyncio.shield(work)  # a cancelled request still waits for (or kills) its child
        return DocumentReport(format=kind, sha256=digest, size=len(document), signatures=tuple(signatures))

    @staticmethod
    def _known(report: DocumentReport, client_id: str, identities: SignerIdentities) -> DocumentReport:
        signatures = []
        for signature in report.signatures:
            signer = signature.signer
            if signer is not None and signer.personal_id:
                signer = dataclasses.replace(signer, sub=identities.sub_for(signer.personal_id, client_id))
            signatures.append(dataclasses.replace(signature, signer=signer))
        return dataclasses.replace(report, signatures=tuple(signatures))

    def _run_in_slot(self, kind: Format, document: bytes, content: bytes | None) -> list[SignatureReport]:
        """The verification in a child process under the limits, holding its slot until the child
        has ended; the revocation answers the child fetched join this process's cache."""
        try:
            answer = run_limited(lambda: self._run_in_child(kind, document, content),
                                 Limits(wall_seconds=self.time_limit, memory_bytes=self.memory_limit))
        except LimitExceeded as exc:
            raise _over_limit(exc.kind, self.time_limit) from None
        except OSError:  # no child could be started (process or memory limits of the host)
            raise DocumentRejected("unavailable", "verification is unavailable; try again shortly",
                                   status_code=503) from None
        finally:
            self._slots.release()
        outcome, journal = answer
        self.validator.cache.merge(journal)
        if isinstance(outcome, tuple):
            reason, message, status_code = outcome
            raise DocumentRejected(reason, message, status_code=status_code)
        return list(outcome)

    def _run_in_child(self, kind: Format, document: bytes, content: bytes | None) -> tuple[Any, list[Any]]:
        """In the child: the reports (or the refusal as a picklable tuple), and the revocation
        answers fetched meanwhile."""
        self.validator.cache.start_journal()
        outcome: Any
        try:
            outcome = self._run(kind, document, content)
        except DocumentRejected as exc:
            outcome = (exc.reason, exc.message, exc.status_code)
        return outcome, self.validator.cache.journal()

    def _run(self, kind: Format, document: bytes, content: bytes | None) -> list[SignatureReport]:
        """One verification on its own event loop (in the child process)."""
        trust = self.trust.get("documents")
        try:
            if kind == "pdf":
                return asyncio.run(pdf.verify_pdf(document, trust, self.validator))
            if kind == "cms":
                return asyncio.run(cms.verify_cms(document, content, trust, self.validator))
            return asyncio.run(xmldsig.verify_xml(document, trust, self.validator))
        except DocumentRejected:
            raise
        except RecursionError:
            raise DocumentRejected("too_deep", "the document nests too deeply") from None
        except MemoryError:
            raise DocumentRejected("too_large", "the document expands beyond the memory limit",
                                   status_code=413) from None
        except Exception as exc:  # noqa: BLE001 - hostile input: any parser failure is the document's, a 4xx
            logger.info("signed document unreadable: %s", type(exc).__name__)
            raise DocumentRejected("malformed", f"the document cannot be read ({type(exc).__name__})") from None

    def _record(self, requester: str, context: AuditContext | None, outcome: str, reason: str,
                details: dict[str, object]) -> None:
        self.audit.record(AuditEvent(type=SIGNATURE_VERIFIED, outcome=outcome, client_id=requester, reason=reason,
                                     details=details, context=context or AuditContext()))
