"""The ``cccd-chip`` adapter: checks a reader's upload against the configured CSCAs (idp/ekyc) and
describes the holder as an :class:`~adapters.base.Identity` at acr ``cccd-chip``."""

from __future__ import annotations

import time
from typing import Any

from adapters.base import Identity
from adapters.cccd.config import CccdChipConfig
from adapters.config import display_name_for
from idp.ekyc.trust import TrustStore
from idp.ekyc.upload import Upload
from idp.ekyc.verification import ChipCheck, verify_chip

ACR = "cccd-chip"
ISSUER = "urn:vn-idp:cccd-chip"


class CccdChipAdapter:
    """One configured chip-card source: its trust anchors and which matcher and registry it uses."""

    def __init__(self, config: CccdChipConfig, trust: TrustStore) -> None:
        self.id = config.id
        self.config = config
        self.trust = trust
        self.face_matcher_id = config.face_matcher
        self.registry_check_id = config.registry_check
        self.upload_ttl = config.upload_ttl_seconds

    def display_name(self, locale: str) -> str:
        return display_name_for(self.config.display_name, locale,
                                "Thẻ căn cước gắn chip" if locale.startswith("vi") else "Chip ID card")

    def check(self, upload: Upload, nonce: bytes) -> ChipCheck:
        """Passive and active authentication of the upload; raise ChipRefused."""
        return verify_chip(upload, self.trust, nonce, require_active=self.config.require_active_authentication)

    def identity(self, check: ChipCheck, *, amr: tuple[str, ...], evidence: dict[str, Any]) -> Identity:
        """The holder as the chip says, at acr ``cccd-chip``. ``subject`` is the personal ID number
        (linking stores only its keyed hash); claims in the provider's vocabulary."""
        citizen = check.passive.citizen
        words = citizen.full_name.split()
        claims: dict[str, Any] = {
            "vn_personal_id": citizen.id_number,
            "name": citizen.full_name,
            "family_name": words[0],
            "given_name": words[-1],
            "birthdate": citizen.date_of_birth.isoformat(),
            "gender": citizen.sex,
        }
        if len(words) > 2:
            claims["middle_name"] = " ".join(words[1:-1])
        return Identity(subject=citizen.id_number, adapter_id=self.id, issuer=ISSUER, auth_time=int(time.time()),
                        acr=ACR, amr=amr, claims=claims, evidence=evidence)
