"""The chip ID card step of the sign-in flow: a person signed in at a lower level (a local account,
VNeID level 1) whose client's policy asks for ``…/acr/cccd-chip`` verifies with their chip card.

- :meth:`ChipStep.show`: the chip page of the interaction issues an upload ticket (idp/ekyc/tickets.py)
  for the configured ``cccd-chip`` adapter and shows it to the reader (a QR code for the phone app,
  the token for a counter reader); the reader posts the card (idp/endpoints/ekyc.py).
- :meth:`ChipStep.finish`: the person's browser continues; the reader's result is taken once. A
  verified card must carry the personal ID number the person is linked to (one person per personal
  ID number): any other number is refused and audited (``stepup``, denied,
  ``personal_id_mismatch``). A match is a step-up (idp.oidc.flow.core ``_signed_in``): the session
  reaches ``cccd-chip`` for the policy's step-up time box and the request goes on.

Only the interaction's browser and session take these steps (``AuthorizationFlow.bound``).
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

from adapters.adapter_set import AdapterSet
from adapters.base import FaceMatcher, Identity, RegistryCheck
from adapters.cccd.adapter import ISSUER, CccdChipAdapter
from adapters.cccd.config import ADAPTER_TYPE
from adapters.registry import AdapterConfigError
from idp.ekyc.counter import CounterDesk
from idp.ekyc.service import ChipVerifications, Recorder
from idp.ekyc.tickets import UploadTickets
from idp.errors import PageError
from idp.identity.protection import personal_id_hash
from idp.mfa.totp import qr_svg_data_uri
from idp.oidc.flow.core import AuthorizationFlow
from idp.oidc.flow.outcomes import Browser, Outcome, Prompt, ShowPage
from idp.oidc.interaction import Interaction
from idp.storage.ephemeral import EphemeralStore
from idp.storage.protocols import SubjectStore
from keys.ring import KeyRing

PAGE = "chip"
READS_PATH = "/api/ekyc/v1/reads"


class ChipStep:
    """Built once by the compose step over the flow, the verifications and the subjects."""

    def __init__(self, *, flow: AuthorizationFlow, verifications: ChipVerifications, subjects: SubjectStore,
                 hash_key: bytes, counter: CounterDesk | None = None) -> None:
        self.flow = flow
        self.verifications = verifications
        self.subjects = subjects
        self.hash_key = hash_key
        self.counter = counter  # the counter (one-stop-shop) mode, idp/ekyc/counter.py

    def _chip(self, interaction: Interaction, adapter_id: str) -> CccdChipAdapter:
        entry = next((e for e in self.flow.offered(interaction) if e.id == adapter_id), None)
        if entry is None or entry.type != ADAPTER_TYPE or not isinstance(entry.adapter, CccdChipAdapter):
            raise PageError("invalid_request")
        return entry.adapter

    def _page(self, interaction: Interaction, chip: CccdChipAdapter, session_id: str,
              error_id: str | None = None, status: int = 200, reason: str | None = None) -> ShowPage:
        ticket = self.verifications.tickets.issue(interaction_id=interaction.id, session_id=session_id,
                                                  adapter_id=chip.id, ttl=chip.upload_ttl)
        reads_url = self.flow.issuer + READS_PATH
        facts: dict[str, Any] = {
            "adapter_name": {"vi": chip.display_name("vi"), "en": chip.display_name("en")},
            "token": ticket.token, "reads_url": reads_url, "expires_in": chip.upload_ttl,
            "qr_data_uri": qr_svg_data_uri(json.dumps({"reads": reads_url, "token": ticket.token})),
            "selfie": chip.face_matcher_id is not None, "reason": reason}
        return ShowPage(PAGE, interaction, error_id, status, facts=facts)

    def show(self, interaction_id: str, browser: Browser, adapter_id: str) -> Outcome:
        """The chip page with a fresh ticket; the login page when nobody is signed in yet (the chip
        lifts a sign-in, it is not one)."""
        interaction, session = self.flow.bound(interaction_id, browser)
        chip = self._chip(interaction, adapter_id)
        if session is None:
            return Prompt("login", interaction)
        return self._page(interaction, chip, session.id)

    def finish(self, interaction_id: str, browser: Browser) -> Outcome:
        """The person continues after the reader's upload: the step-up, or the page again with why not."""
        interaction, session = self.flow.bound(interaction_id, browser)
        if session is None:
            return Prompt("login", interaction)
        result = self.verifications.tickets.take_result(interaction.id)
        offered = [e.id for e in self.flow.offered(interaction) if e.type == ADAPTER_TYPE]
        chip = self._chip(interaction, str(result["adapter"]) if result else (offered[0] if offered else ""))
        if result is None:
            return self._page(interaction, chip, session.id, "chip_not_read", 409)
        if result.get("outcome") != "verified" or result.get("session") != session.id:
            return self._page(interaction, chip, session.id, "chip_refused", 400, reason=str(result.get("reason")))
        claims = result["claims"]
        subject = self.subjects.get(session.subject_id)
        linked = subject.personal_id_hash if subject is not None else None
        if linked is None or not hmac.compare_digest(linked, personal_id_hash(claims["vn_personal_id"],
                                                                               self.hash_key)):
            self.flow.audit.record("stepup", context=browser.context(session.id), outcome="denied",
                                   subject=session.subject_id, client_id=interaction.request.client_id,
                                   adapter=chip.id, reason="personal_id_mismatch")
            return self._page(interaction, chip, session.id, "chip_other_person", 403)
        identity = Identity(subject=claims["vn_personal_id"], adapter_id=chip.id, issuer=ISSUER,
                            auth_time=int(time.time()), acr="cccd-chip", amr=tuple(result["amr"]), claims=claims,
                            evidence={"ekyc": result["evidence"]})
        return self.flow._signed_in(interaction, browser, identity, ADAPTER_TYPE)


def open_chip_step(*, flow: AuthorizationFlow, adapters: AdapterSet, ephemeral: EphemeralStore, audit: Recorder,
                   subjects: SubjectStore, hash_key: bytes, ring: KeyRing | None = None) -> ChipStep | None:
    """The chip step when a ``cccd-chip`` adapter is configured, else None (its pages and the reader
    API then answer 404); with the key ring, the counter mode too."""
    chips = [entry.adapter for entry in adapters.entries if isinstance(entry.adapter, CccdChipAdapter)]
    if not chips:
        return None
    for chip in chips:  # a reference to a missing or wrong adapter stops start-up, naming it
        wanted = ((chip.face_matcher_id, FaceMatcher, "face_matcher"),
                  (chip.registry_check_id, RegistryCheck, "registry_check"))
        for adapter_id, capability, field in wanted:
            if adapter_id is None:
                continue
            found = adapters.get(adapter_id) if adapter_id in adapters.ids else None
            if not isinstance(found, capability):
                raise AdapterConfigError(f"adapter {chip.id!r}: field {field!r}: {adapter_id!r} is not a configured "
                                         f"{capability.__name__} adapter")
    verifications = ChipVerifications(adapters=adapters, tickets=UploadTickets(ephemeral), audit=audit)
    counter = (CounterDesk(issuer=flow.issuer, verifications=verifications, ring=ring, audit=audit)
               if ring is not None else None)
    return ChipStep(flow=flow, verifications=verifications, subjects=subjects, hash_key=hash_key, counter=counter)
