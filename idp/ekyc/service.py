"""The reader's side of an eKYC verification: a ticket's upload checked end to end.

:meth:`ChipVerifications.submit` uses the ticket (once), checks the chip (passive and active
authentication, :mod:`idp.ekyc.verification`), compares the live capture with DG2 through the
configured FaceMatcher, asks the configured RegistryCheck, audits the outcome (``ekyc.chip``:
reason codes and methods, never personal data or images) and leaves the result for the
interaction, where the person's browser continues (idp/oidc/flow/chip.py). Images are dropped
once compared: only the match's score and method are kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from adapters.adapter_set import AdapterSet
from adapters.base import AdapterError, FaceMatch, FaceMatcher, RegistryAnswer, RegistryCheck
from adapters.cccd.adapter import CccdChipAdapter
from idp.audit.events import AuditContext
from idp.audit.types import EKYC_CHIP
from idp.ekyc.assurance import CLAIM, verified_claims
from idp.ekyc.errors import ChipRefused
from idp.ekyc.tickets import Ticket, UploadTickets
from idp.ekyc.upload import parse_upload
from idp.ekyc.verification import ChipCheck
from idp.errors import IdpError

EVENT = EKYC_CHIP


class Recorder(Protocol):
    def record(self, event_type: str, *, context: AuditContext | None = None, **fields: Any) -> None: ...


class TicketUnknown(IdpError):
    """The bearer token names no live ticket (unknown, used or expired)."""


@dataclass(frozen=True)
class ReaderAnswer:
    """What the reader is told: ``verified``, or the refusal's ``reason`` and ``detail``."""

    verified: bool
    reason: str | None = None
    detail: str | None = None
    active_authentication: str | None = None

    def body(self) -> dict[str, Any]:
        if self.verified:
            return {"result": "verified", "active_authentication": self.active_authentication}
        return {"result": "refused", "reason": self.reason, "detail": self.detail}


def _evidence(check: ChipCheck, face: FaceMatch | None, registry: RegistryAnswer | None) -> dict[str, Any]:
    """What was established, for the session's evidence and the ``verified_claims`` evidence."""
    passive, citizen = check.passive, check.passive.citizen
    return {
        "document": {"type": "idcard", "number": citizen.id_number, "issuer_country": "VN",
                     "date_of_issuance": citizen.issue_date.isoformat(),
                     "date_of_expiry": citizen.expiry_date.isoformat() if citizen.expiry_date else None},
        "holder": {"name": citizen.full_name, "birthdate": citizen.date_of_birth.isoformat(),
                   "gender": citizen.sex, "nationality": citizen.nationality,
                   "place_of_origin": citizen.home_town, "address": citizen.permanent_residence},
        "checks": [
            {"type": "vcrypt", "passive": True, "signed_at": passive.signed_at.isoformat(),
             "document_signer": passive.document_signer, "csca": passive.csca, "crl_checked": passive.crl_checked,
             "data_groups": list(passive.data_groups),
             "active_authentication": check.active.algorithm if check.active else None,
             "chip_authentication_offered": bool(check.dg14 and check.dg14.chip_authentication)},
            *([{"type": "bvr", "method": face.method, "score": face.score}] if face is not None else []),
            *([{"type": "data", "reference": registry.reference, "current": registry.current}]
              if registry is not None else []),
        ],
        "verified_at": int(time.time()),
    }


class ChipVerifications:
    """Built once by the compose step over the adapters, the tickets and the audit trail."""

    def __init__(self, *, adapters: AdapterSet, tickets: UploadTickets, audit: Recorder) -> None:
        self.adapters = adapters
        self.tickets = tickets
        self.audit = audit

    def ticket(self, token: str) -> Ticket:
        """The live ticket of ``token`` (for the reader's nonce); raise TicketUnknown."""
        ticket = self.tickets.peek(token)
        if ticket is None:
            raise TicketUnknown("unknown, used or expired upload token")
        return ticket

    def chip(self, adapter_id: str) -> CccdChipAdapter:
        """The chip adapter ``adapter_id``; raise TicketUnknown when it is none (configuration changed)."""
        chip = self.adapters.get(adapter_id) if adapter_id in self.adapters.ids else None
        if not isinstance(chip, CccdChipAdapter):
            raise TicketUnknown("the ticket's chip adapter is not configured")
        return chip

    def requirements(self, ticket: Ticket) -> dict[str, bool]:
        """What the reader must send besides the data groups."""
        chip = self.chip(ticket.adapter_id)
        return {"selfie": chip.face_matcher_id is not None,
                "active_authentication": chip.config.require_active_authentication}

    def submit(self, token: str, body: Any, *, context: AuditContext) -> ReaderAnswer:
        """Check one upload with the ticket of ``token`` (used up whatever the outcome); raise TicketUnknown."""
        ticket = self.tickets.use(token)
        if ticket is None:
            raise TicketUnknown("unknown, used or expired upload token")
        chip = self.chip(ticket.adapter_id)
        try:
            upload = parse_upload(body)
            check = chip.check(upload, ticket.nonce)
            face = self._face(chip, upload.read.data_groups.get(2), upload.selfie)
            registry = self._registry(chip, check)
        except ChipRefused as refused:
            self.tickets.put_result(ticket.interaction_id, {"outcome": "refused", "reason": refused.reason,
                                                            "adapter": ticket.adapter_id})
            self.audit.record(EVENT, context=context, outcome="failure", adapter=ticket.adapter_id,
                              reason=refused.reason, details={"interaction": ticket.interaction_id})
            return ReaderAnswer(False, refused.reason, refused.detail)
        evidence = _evidence(check, face, registry)
        amr = ("sc", "face") if face is not None else ("sc",)
        identity = chip.identity(check, amr=amr, evidence=evidence)
        claims = {**identity.claims, CLAIM: verified_claims(evidence)}
        self.tickets.put_result(ticket.interaction_id, {
            "outcome": "verified", "adapter": ticket.adapter_id, "session": ticket.session_id,
            "claims": claims, "amr": list(identity.amr), "evidence": evidence})
        checks = [c["type"] for c in evidence["checks"]]
        self.audit.record(EVENT, context=context, adapter=ticket.adapter_id, amr=identity.amr,
                          details={"interaction": ticket.interaction_id, "checks": checks,
                                   "active_authentication": check.active.algorithm if check.active else None,
                                   "hash_algorithm": check.passive.hash_algorithm})
        return ReaderAnswer(True, active_authentication=check.active.algorithm if check.active else None)

    def check_methods(self) -> set[str]:
        """The OpenID Connect for Identity Assurance check methods the configured chip adapters perform."""
        methods: set[str] = set()
        for entry in self.adapters.entries:
            if isinstance(entry.adapter, CccdChipAdapter):
                methods.add("vcrypt")
                methods |= {"bvr"} if entry.adapter.face_matcher_id else set()
                methods |= {"data"} if entry.adapter.registry_check_id else set()
        return methods

    def _face(self, chip: CccdChipAdapter, dg2: bytes | None, selfie: bytes | None) -> FaceMatch | None:
        if chip.face_matcher_id is None:
            return None
        matcher = self.adapters.get(chip.face_matcher_id)
        if not isinstance(matcher, FaceMatcher):
            raise ChipRefused("face_matcher_missing", "the configured face matcher is not one")
        if dg2 is None or selfie is None:
            raise ChipRefused("face_missing", "DG2 and a live capture (selfie) are required")
        try:
            match = matcher.compare(dg2, selfie)
        except AdapterError:
            raise ChipRefused("face_matcher_unavailable", "the face matcher did not answer") from None
        if not match.matched:
            raise ChipRefused("face_mismatch", "the live capture does not match the card's photo")
        return match

    def _registry(self, chip: CccdChipAdapter, check: ChipCheck) -> RegistryAnswer | None:
        if chip.registry_check_id is None:
            return None
        registry = self.adapters.get(chip.registry_check_id)
        if not isinstance(registry, RegistryCheck):
            raise ChipRefused("registry_missing", "the configured registry check is not one")
        citizen = check.passive.citizen
        try:
            answer = registry.check({"id_number": citizen.id_number, "full_name": citizen.full_name,
                                     "date_of_birth": citizen.date_of_birth.isoformat(),
                                     "issue_date": citizen.issue_date.isoformat()})
        except AdapterError:
            raise ChipRefused("registry_unavailable", "the population registry did not answer") from None
        if not answer.genuine:
            raise ChipRefused("registry_not_genuine", "the population registry does not know this card")
        if not answer.current:
            raise ChipRefused("registry_not_current", "the card is no longer the holder's current one")
        return answer
