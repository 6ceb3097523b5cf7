"""Claims by scope (OIDC Core §5.4) and the ``claims`` request parameter (§5.5).

Standard claims come from the subject's stored claims (normalised by adapters: Vietnamese names
as family_name = họ, middle_name = chữ đệm, given_name = tên; birthdate ISO 8601). Restricted
Vietnamese scopes are released only where the client's policy allows them (policies/).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from idp.errors import OAuthError
from policies.claims import SCOPE_CLAIMS

STANDARD_SCOPES = ("openid", "profile", "email", "phone", "address", "offline_access")


def claims_for_scopes(scopes: Iterable[str], scope_claims: Mapping[str, frozenset[str]] = SCOPE_CLAIMS) -> set[str]:
    names: set[str] = set()
    for scope in scopes:
        names.update(scope_claims.get(scope, ()))
    return names


def parse_claims_parameter(raw: str | None) -> dict[str, dict[str, Any]]:
    """Parse and check the ``claims`` parameter; invalid_request when it is not the §5.5 shape."""
    if not raw:
        return {}
    if len(raw) > 8192:
        raise OAuthError("invalid_request", "claims parameter too large")
    try:
        value = json.loads(raw)
    except ValueError:
        raise OAuthError("invalid_request", "claims parameter is not valid JSON") from None
    if not isinstance(value, dict) or set(value) - {"userinfo", "id_token"}:
        raise OAuthError("invalid_request", "claims parameter must have only userinfo and id_token members")
    for member in value.values():
        if not isinstance(member, dict) or not all(v is None or isinstance(v, dict) for v in member.values()):
            raise OAuthError("invalid_request", "claims parameter members must map claim names to null or objects")
    return value


def select_claims(available: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: available[name] for name in names if name in available and available[name] not in (None, "")}


def requested_in(claims_request: Mapping[str, Any], member: str) -> set[str]:
    return set((claims_request.get(member) or {}).keys())
