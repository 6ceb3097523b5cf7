"""Who a Vietnamese certificate names.

Vietnamese CAs write the holder's identifier in the subject's ``UID`` (0.9.2342.19200300.100.1.1),
sometimes in another attribute, as ``<kind>:<number>``: ``CCCD:`` (12-digit citizen identity card
/ personal ID number), ``CMND:`` (the older 9- or 12-digit identity card), ``HC:`` (passport),
``MST:`` (a tax code: 10 digits, or 10-3 for a branch) and ``MNS:`` (a budget-unit code). The
personal number maps to the one person per personal ID number; the tax code to an organisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509

IDENTIFIER = re.compile(r"\b(CCCD|CMND|HC|MST|MNS)\s*:\s*([0-9A-Z-]{5,20})\b")
FORMATS = {
    "CCCD": re.compile(r"[0-9]{12}"),
    "CMND": re.compile(r"[0-9]{9}|[0-9]{12}"),
    "HC": re.compile(r"[A-Z][0-9]{7,8}"),
    "MST": re.compile(r"[0-9]{10}(-[0-9]{3})?"),
    "MNS": re.compile(r"[0-9]{7}"),
}


@dataclass(frozen=True)
class CertificateSubject:
    """The holder as the certificate names them."""

    common_name: str = ""
    organization: str = ""
    uid: str = ""
    personal_id: str | None = None  # CCCD or a 12-digit CMND: the personal ID number
    legacy_id: str | None = None  # a 9-digit CMND (no personal ID number)
    tax_code: str | None = None
    budget_unit: str | None = None


def read_subject(cert: asn1_x509.Certificate) -> CertificateSubject:
    """The holder's names and identifiers; an identifier in the wrong format is ignored."""
    native = cert.subject.native
    values = [str(v) for value in native.values() for v in (value if isinstance(value, list) else [value])]
    uid = native.get("user_id", "")
    uid = uid[0] if isinstance(uid, list) else str(uid or "")
    found: dict[str, str] = {}
    for text in ([uid] if uid else []) + values:
        for kind, number in IDENTIFIER.findall(text.upper()):
            if kind not in found and FORMATS[kind].fullmatch(number):
                found[kind] = number
    personal = found.get("CCCD") or (found["CMND"] if len(found.get("CMND", "")) == 12 else None)
    legacy = found.get("CMND") if found.get("CMND") and len(found["CMND"]) == 9 else None
    common = native.get("common_name", "")
    org = native.get("organization_name", "")
    return CertificateSubject(
        common_name=str(common[0] if isinstance(common, list) else common or ""),
        organization=str(org[0] if isinstance(org, list) else org or ""),
        uid=uid, personal_id=personal, legacy_id=legacy, tax_code=found.get("MST"), budget_unit=found.get("MNS"))
