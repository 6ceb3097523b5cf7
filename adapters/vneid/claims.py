"""Claim rules shared by the national profiles (VNeID directly, or through the national portal)."""

from __future__ import annotations

from typing import Any

from adapters.base import UpstreamRejected
from idp.identity.names import split_vietnamese_name
from idp.identity.personal_id import InvalidPersonalId, normalise_personal_id


def personal_id_claim(value: Any) -> str:
    """The validated 12-digit personal ID number; UpstreamRejected when absent or malformed
    (the value never appears in the message: it is personal data)."""
    if value is None or value == "":
        raise UpstreamRejected("the upstream did not send a personal ID number", reason="missing_personal_id")
    try:
        return normalise_personal_id(str(value) if isinstance(value, int) else value)
    except InvalidPersonalId as exc:
        raise UpstreamRejected(f"personal ID number refused: {exc}", reason="invalid_personal_id") from None


EID_LEVELS = {"vneid-l1": 1, "vneid-l2": 2}
"""The e-ID level (Decree 69/2024: level 1 or 2) of a sign-in at each local level through a
national profile (docs/domain.md, "VNeID")."""


def eid_level_claims(level: str) -> dict[str, int]:
    """``vn_eid_level`` for a sign-in at local ``level`` through a national profile; nothing for
    a level that is not an e-ID level (an unmapped upstream answer says nothing about it)."""
    return {"vn_eid_level": EID_LEVELS[level]} if level in EID_LEVELS else {}


def name_claims(full_name: Any) -> dict[str, str]:
    """name + family/middle/given names from a full Vietnamese name (``name`` authoritative)."""
    if not isinstance(full_name, str):
        return {}
    return split_vietnamese_name(full_name)
