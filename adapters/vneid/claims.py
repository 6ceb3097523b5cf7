"""Claim rules shared by the national profiles (VNeID directly, or through the national portal)."""

from __future__ import annotations

from typing import Any

from adapters.base import UpstreamRejected
from idp.identity.names import split_vietnamese_name
from idp.identity.personal_id import InvalidPersonalId, normalise_personal_id
from policies.claims import ORGANISATION


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


def is_organisation_account(account_type: Any, account_types: dict[str, str]) -> bool:
    """Whether an upstream's account-type value is mapped (``account_types``) to an organisation."""
    return isinstance(account_type, str | int) and account_types.get(str(account_type)) == ORGANISATION


def organisation_account_claims(upstream: dict[str, Any], organisation_fields: dict[str, str]) -> dict[str, Any]:
    """An organisation e-ID account's claims (Decree 69/2024; either national profile): the
    organisation's identifiers by ``organisation_fields`` (upstream field -> local claim), its name
    as ``name``, ``vn_account_type`` ``organization`` (the representative's name too, as
    ``vn_org_representative``, when a field maps to it). Not the representative's personal ID
    number or birth date: the account is the organisation's (linked as its own subject, its tax code
    deciding it: idp.identity.organisations). UpstreamRejected without a tax code."""
    claims: dict[str, Any] = {"vn_account_type": ORGANISATION}
    for field, claim in organisation_fields.items():
        value = upstream.get(field)
        if isinstance(value, str) and value.strip():
            claims[claim] = value.strip()[:255]
    if not claims.get("vn_org_tax_code"):
        raise UpstreamRejected("an organisation account without a tax code", reason="missing_tax_code")
    if claims.get("vn_org_name"):
        claims["name"] = claims["vn_org_name"]
    return claims


def organisation_profile_claims(account_types: dict[str, str], organisation_fields: dict[str, str]) -> set[str]:
    """The claims organisation accounts add to a profile: none unless ``account_types`` maps a
    value to an organisation (then ``vn_account_type`` and the mapped fields' local names)."""
    if ORGANISATION not in account_types.values():
        return set()
    return {"vn_account_type", *organisation_fields.values()}
