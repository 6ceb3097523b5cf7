"""One organisation per tax code (mã số thuế), as one person per personal ID number.

An organisation has one internal identifier, derived from its tax code: the subject id of its own
organisation e-ID account when it signs in (idp.identity.linking links every such account with
that tax code to it), and the principal a person acts for (idp.oidc.acting). The ``sub`` a
relying party sees is derived from that identifier (idp.oidc.subject_ids), so the organisation is
one and the same whether it signs in itself or a person acts for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.claims import ORGANISATION

#: The prefix of an organisation's internal identifier (a person's subject id never has one).
ORGANISATION_PREFIX = "org:"
#: The ``kind`` of an organisation's subject (idp.storage.models.Subject).
KIND = "organisation"


def organisation_id(tax_code: str) -> str:
    """The internal identifier of the organisation with ``tax_code``."""
    return ORGANISATION_PREFIX + tax_code.strip()


def account_tax_code(claims: Mapping[str, Any]) -> str | None:
    """The tax code of an organisation e-ID account's sign-in (``vn_account_type`` organization,
    ``vn_org_tax_code``); None for a person's."""
    tax_code = claims.get("vn_org_tax_code")
    if claims.get("vn_account_type") != ORGANISATION or not isinstance(tax_code, str) or not tax_code.strip():
        return None
    return tax_code.strip()
