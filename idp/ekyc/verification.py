"""One chip read checked end to end: passive authentication, then active authentication with the
nonce the server issued (required unless configured otherwise), and DG14 reported."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from idp.ekyc.active import ActiveResult, Dg14Report, parse_dg14, verify_active
from idp.ekyc.errors import ChipRefused
from idp.ekyc.passive import PassiveResult, verify_passive
from idp.ekyc.trust import TrustStore
from idp.ekyc.upload import Upload


@dataclass(frozen=True)
class ChipCheck:
    """A read that passed: ``active`` None when the card has no DG15 and that is allowed."""

    passive: PassiveResult
    active: ActiveResult | None
    dg14: Dg14Report | None


def verify_chip(upload: Upload, trust: TrustStore, nonce: bytes, *, require_active: bool = True,
                now: dt.datetime | None = None) -> ChipCheck:
    """Passive and active authentication of ``upload`` for the ``nonce`` issued to its reader;
    raise ChipRefused with the first failure (``aa_missing`` for a card that cannot prove it is
    no clone when that is required)."""
    passive = verify_passive(upload.read, trust, now=now)
    groups = upload.read.data_groups
    dg14 = parse_dg14(groups[14]) if 14 in groups else None
    active = None
    if 15 in groups:
        if upload.aa_signature is None:
            raise ChipRefused("aa_missing", "the chip's answer to the nonce is missing")
        active = verify_active(groups[15], nonce, upload.aa_signature, dg14)
    elif require_active:
        raise ChipRefused("aa_missing", "the card has no active-authentication key (DG15)")
    return ChipCheck(passive, active, dg14)
