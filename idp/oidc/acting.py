"""Acting for an organisation: what the tokens of an authorization say when the person who signed
in chose, for it, to act for an organisation they are entitled to (idp.oidc.flow.organisations).

As RFC 8693 §4.1 has it, ``sub`` is the principal acted for, the organisation (its identifier
for the client, derived from its tax code as a person's is from their subject, the same ``sub``
the organisation gets when it signs in with its own account), and ``act.sub`` the
actor, the person (their usual ``sub`` for that client, so the service knows who acted). The
subject's claims are the organisation's (``vn_acting_for``, ``vn_org_*``, under the claim rules:
the ``vn_org`` scope), never the person's own.

``acting_for`` (an authorization's) is an :class:`adapters.base.OrganisationEntitlement` as a
record: ``tax_code``, ``name``, ``org_eid`` (may be None), ``role``, ``source``, and the ``adapter``
whose sign-in named it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idp.identity.organisations import organisation_id


def principal_id(acting_for: Mapping[str, Any]) -> str:
    """The internal identifier of the organisation acted for (from which its ``sub`` is derived):
    the subject id its own organisation e-ID account signs in as (idp.identity.organisations)."""
    return organisation_id(str(acting_for["tax_code"]))


def organisation_claims(acting_for: Mapping[str, Any]) -> dict[str, Any]:
    """The claims about the organisation acted for (the token's subject)."""
    claims = {"vn_acting_for": acting_for["tax_code"], "vn_org_tax_code": acting_for["tax_code"],
              "vn_org_name": acting_for["name"]}
    if acting_for.get("org_eid"):
        claims["vn_org_eid"] = acting_for["org_eid"]
    return claims
