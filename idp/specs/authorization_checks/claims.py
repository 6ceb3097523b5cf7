"""The ``claims`` parameter (OIDC Core §5.5): a JSON object of ``userinfo`` and ``id_token``
requests, parsed and bounded by :func:`idp.oidc.claims.parse_claims_parameter`."""

from __future__ import annotations

from idp.oidc.claims import parse_claims_parameter
from idp.specs.authorization_checks.checking import Checking


def check(checking: Checking) -> None:
    checking.fields["claims"] = parse_claims_parameter(checking.values["claims"])
