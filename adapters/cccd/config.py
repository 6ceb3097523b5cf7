"""Configuration of the ``cccd-chip`` adapter (version 1)::

    - id: chip
      type: cccd-chip
      display_name: {vi: Thẻ căn cước gắn chip, en: Chip ID card}
      csca_bundle: /etc/idp/csca.pem      # PEM file of the CSCA certificates to trust
      csca_crl: /etc/idp/csca-crl.pem     # their CRLs (PEM or DER); optional
      face_matcher: faces                 # id of a FaceMatcher adapter; required
      registry_check: c06                 # id of a RegistryCheck adapter; optional

The CSCA bundle and CRL are read when the adapter is opened: a file that cannot be used stops
start-up with its name.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from adapters.base import Adapter
from adapters.config import EVIDENCE, AdapterConfig, AdapterContext, Produces

ADAPTER_TYPE = "cccd-chip"
#: What a verified card yields (adapters/cccd/adapter.py ``identity``).
CHIP_CLAIMS = frozenset({"vn_personal_id", "name", "family_name", "middle_name", "given_name", "birthdate",
                         "gender", "verified_claims"})


class CccdChipConfig(AdapterConfig):
    capabilities: ClassVar[frozenset[str]] = frozenset({EVIDENCE})
    config_version: ClassVar[int] = 1

    type: Literal["cccd-chip"]
    csca_bundle: Path = Field(description="PEM file of the trusted CSCA certificates.")
    csca_crl: Path | None = Field(default=None, description="PEM or DER file of the CSCAs' CRLs.")
    require_active_authentication: bool = Field(
        default=True, description="Refuse a card without a DG15 key (it cannot prove it is not a clone).")
    face_matcher: str = Field(description="Id of the FaceMatcher adapter: the reader's live capture must match "
                              "DG2 (docs/domain.md: cccd-chip is the card read and a live face match).")
    registry_check: str | None = Field(default=None, description="Id of the RegistryCheck adapter asked "
                                       "whether the card is genuine and current.")
    upload_ttl_seconds: int = Field(default=600, ge=60, le=3600, description="How long an upload token lives.")

    def produces(self) -> Produces:
        """A verified card: acr ``cccd-chip`` and the holder's claims from DG13."""
        return Produces(("cccd-chip",), CHIP_CLAIMS)

    def open(self, context: AdapterContext) -> Adapter:
        from adapters.cccd.adapter import CccdChipAdapter
        from idp.ekyc.trust import TrustStoreError, load_trust_store

        try:
            trust = load_trust_store(self.csca_bundle, self.csca_crl)
        except TrustStoreError as exc:
            raise ValueError(str(exc)) from None
        return CccdChipAdapter(self, trust)
