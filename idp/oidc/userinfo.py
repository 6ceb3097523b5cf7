"""The claims a relying party may receive about a person (OIDC Core §5.3-§5.5)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from idp.ekyc.assurance import narrowed
from idp.identity.claims import person_claims
from idp.oidc.claims import claims_for_scopes, requested_in, select_claims
from idp.storage.sql import SqlStorage


def subject_claims(storage: SqlStorage, subject_id: str, enc_key: bytes) -> dict[str, Any]:
    """Every claim the provider holds for the subject (normalised by adapters), with the personal
    ID number decrypted; what a client receives is cut down by scopes, policy and consent."""
    subject = storage.subjects.get(subject_id)
    return person_claims(subject, enc_key) if subject else {}


def userinfo_claims(available: dict[str, Any], scopes: Iterable[str], claims_request: dict[str, Any],
                    allowed: set[str] | None = None) -> dict[str, Any]:
    """Claims released at the userinfo endpoint: by scope, plus those the ``claims`` parameter
    asked for in ``userinfo``, minus anything the client's policy does not allow."""
    asked = requested_in(claims_request, "userinfo")
    # verified_claims only on request (OpenID Connect for Identity Assurance 1.0), never by scope alone
    names = (claims_for_scopes(scopes) - {"verified_claims"}) | asked
    if allowed is not None:
        names &= allowed
    return narrowed(select_claims(available, names), claims_request, "userinfo")
