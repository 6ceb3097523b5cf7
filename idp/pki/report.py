"""What the verification service says about a signed document: one :class:`SignatureReport` per
signature, in a :class:`DocumentReport` (the same for the JSON answer and the page)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from idp.errors import IdpError
from idp.pki.validation import STATUS_TEXT, CertificateVerdict


class DocumentRejected(IdpError):
    """The document cannot be verified (malformed, hostile, too large, unsupported): a 4xx.

    ``reason`` is a stable code; the message says it in English for people and logs."""

    def __init__(self, reason: str, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class SignerReport:
    """The signer's certificate, its chain and its verdict."""

    subject: str
    issuer: str
    serial: str
    fingerprint: str
    chain: tuple[str, ...]
    status: str
    reason: str
    trusted: bool
    revocation_source: str
    revocation_checked_at: str | None
    acr: str | None
    personal_id: str | None = None
    tax_code: str | None = None
    common_name: str = ""
    uid: str = ""
    organization: str = ""  # the subject's O: a business certificate's organisation name
    sub: str | None = None  # the requesting relying party's identifier of the signer (idp/pki/identities.py)

    @classmethod
    def from_verdict(cls, verdict: CertificateVerdict, subject: str) -> SignerReport:
        who = verdict.subject
        return cls(subject=subject, issuer=verdict.issuer, serial=verdict.serial, fingerprint=verdict.fingerprint,
                   chain=verdict.chain, status=verdict.status, reason=verdict.detail, trusted=verdict.trusted,
                   revocation_source=verdict.revocation.source, revocation_checked_at=verdict.revocation.checked_at,
                   acr=verdict.acr, personal_id=who.personal_id if who else None,
                   tax_code=who.tax_code if who else None, common_name=who.common_name if who else "",
                   uid=who.uid if who else "", organization=who.organization if who else "")


@dataclass(frozen=True)
class SignatureReport:
    """One signature: intact or not, what it covers, who signed and whether they are trusted."""

    index: int
    intact: bool
    coverage: str  # whole_document | detached_content | enveloped_content | modified_after_signing | referenced_parts
    signer: SignerReport | None
    signing_time: str | None = None
    timestamp: str | None = None  # the RFC 3161 token's time, when it is present and valid
    timestamp_status: str = "absent"  # absent | valid | invalid
    ltv_material: bool = False  # revocation information embedded in the document
    problems: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        """``valid`` (intact, covering what it should, trusted signer), ``invalid`` or ``indeterminate``."""
        if not self.intact or self.coverage == "modified_after_signing":
            return "invalid"
        if self.signer is None:
            return "invalid"
        if self.signer.trusted:
            return "valid"
        if self.signer.status in ("revocation_unknown",):
            return "indeterminate"
        return "invalid"


@dataclass(frozen=True)
class DocumentReport:
    """Every signature of one document."""

    format: str  # cms | pdf | xml
    sha256: str
    size: int
    signatures: tuple[SignatureReport, ...] = field(default_factory=tuple)

    @property
    def outcome(self) -> str:
        verdicts = {s.verdict for s in self.signatures}
        if not verdicts:
            return "no_signature"
        if verdicts == {"valid"}:
            return "valid"
        return "invalid" if "invalid" in verdicts else "indeterminate"

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "sha256": self.sha256, "size": self.size, "outcome": self.outcome,
            "signatures": [{**asdict(s), "verdict": s.verdict} for s in self.signatures],
        }


def status_text(status: str, locale: str) -> str:
    """A certificate status in plain words (Vietnamese unless ``locale`` is English)."""
    vi, en = STATUS_TEXT.get(status, STATUS_TEXT["untrusted"])
    return en if locale.startswith("en") else vi
