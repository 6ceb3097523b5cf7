"""OpenID Connect for Identity Assurance 1.0: the ``verified_claims`` a chip verification yields,
and what discovery says about them.

- Trust framework ``vn_cccd_chip``: this project's name (no registered name exists for Vietnam) for
  "the holder presented a chip citizen ID card, verified by ICAO 9303 passive and active
  authentication against the configured CSCAs".
- Evidence: one ``document`` of type ``idcard`` with the check methods actually performed:
  ``vcrypt`` (the chip's signature and clone check), ``bvr`` (an automated face match, when a face
  matcher is configured), ``data`` (the population registry confirmed the card, when a registry
  check is configured; its transaction id as ``txn``).
- Claims: the holder's name, birthdate, gender, nationality and permanent residence as DG13 says.

The stored form leaves the document number out (a subject's stored claims never hold the
personal ID number, idp/identity/linking.py): :func:`with_document_number` puts it back, from the
decrypted number the card was checked to equal, when claims are read for release.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

TRUST_FRAMEWORK = "vn_cccd_chip"
DOCUMENT_TYPE = "idcard"
CLAIM = "verified_claims"
CLAIMS_IN_VERIFIED_CLAIMS = ("name", "family_name", "middle_name", "given_name", "birthdate", "gender",
                             "nationalities", "address")


def _iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


def verified_claims(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The stored ``verified_claims`` of one chip verification (``evidence`` as idp/ekyc/service.py
    records it), without the document number."""
    document, holder = evidence["document"], evidence["holder"]
    checks: list[dict[str, Any]] = []
    for check in evidence["checks"]:
        entry: dict[str, Any] = {"check_method": check["type"]}
        if check["type"] == "data" and check.get("reference"):
            entry["txn"] = check["reference"]
        checks.append(entry)
    when = _iso(int(evidence["verified_at"]))
    details: dict[str, Any] = {"type": DOCUMENT_TYPE, "issuer": {"country_code": "VNM"},
                               "date_of_issuance": document["date_of_issuance"]}
    if document.get("date_of_expiry"):
        details["date_of_expiry"] = document["date_of_expiry"]
    words = str(holder["name"]).split()
    claims: dict[str, Any] = {"name": holder["name"], "family_name": words[0], "given_name": words[-1],
                              "birthdate": holder["birthdate"], "gender": holder["gender"], "nationalities": ["VNM"],
                              "address": {"formatted": holder["address"], "country_code": "VNM"}}
    if len(words) > 2:
        claims["middle_name"] = " ".join(words[1:-1])
    return {
        "verification": {
            "trust_framework": TRUST_FRAMEWORK,
            "time": when,
            "evidence": [{"type": "document", "check_details": checks, "time": when, "document_details": details}],
        },
        "claims": claims,
    }


def with_document_number(claims: Mapping[str, Any], personal_id: str | None) -> dict[str, Any]:
    """``claims`` with the document number of a stored ``verified_claims`` filled in from the
    person's (decrypted) personal ID number; without that number, without ``verified_claims``."""
    out = dict(claims)
    stored = out.get(CLAIM)
    if not isinstance(stored, Mapping):
        return out
    if personal_id is None:
        del out[CLAIM]
        return out
    evidence = [{**item, "document_details": {**item.get("document_details", {}), "document_number": personal_id}}
                for item in stored.get("verification", {}).get("evidence", [])]
    out[CLAIM] = {**stored, "verification": {**stored.get("verification", {}), "evidence": evidence}}
    return out


def discovery_metadata(check_methods: Iterable[str]) -> dict[str, Any]:
    """The OpenID Connect for Identity Assurance discovery members, for the check methods that
    can actually happen with the configured chip adapters."""
    methods = sorted(set(check_methods))
    return {
        "verified_claims_supported": True,
        "trust_frameworks_supported": [TRUST_FRAMEWORK],
        "evidence_supported": ["document"],
        "documents_supported": [DOCUMENT_TYPE],
        "documents_check_methods_supported": methods,
        "claims_in_verified_claims_supported": list(CLAIMS_IN_VERIFIED_CLAIMS),
    }


def narrowed(selected: Mapping[str, Any], claims_request: Mapping[str, Any], member: str) -> dict[str, Any]:
    """``selected`` (claims about to be released in ``member``: ``id_token`` or ``userinfo``) with
    its ``verified_claims`` cut down to what the ``claims`` parameter asked for there (OpenID
    Connect for Identity Assurance 1.0): inside ``claims``, only the names requested; the whole
    ``verification`` (trust framework, evidence) as stored. A request without a ``claims`` object
    inside ``verified_claims`` gets the verified claims it names: none."""
    out = dict(selected)
    stored = out.get(CLAIM)
    if not isinstance(stored, Mapping):
        return out
    request = (claims_request.get(member) or {}).get(CLAIM)
    names = request.get("claims") if isinstance(request, Mapping) else None
    wanted = set(names) if isinstance(names, Mapping) else set()
    out[CLAIM] = {**stored, "claims": {k: v for k, v in stored.get("claims", {}).items() if k in wanted}}
    return out
