"""Redeeming an authorization code at the token endpoint (RFC 6749 §4.1.3): consumed when first
presented, whoever presents it; a replayed code revokes its grant (§4.1.2, Security BCP §4.5)."""

from __future__ import annotations

from idp.audit.events import AuditContext
from idp.oidc.codes import AuthorizationCode, CodeStore
from idp.oidc.revocation import GrantRevoker


class CodeRedeemer:
    def __init__(self, codes: CodeStore, grants: GrantRevoker) -> None:
        self._codes = codes
        self._grants = grants

    def redeem_code(self, value: str, client_id: str, context: AuditContext | None = None) -> AuthorizationCode | None:
        """The code's contents, once; None when unknown, expired or redeemed before (then its
        grant is revoked and the reuse audited, naming the authenticated ``client_id``)."""
        redemption = self._codes.redeem(value)
        replayed = redemption.replayed_grant_id
        if replayed:
            self._grants.revoke_recorded(replayed, "code_replayed", "token.reuse_detected", context=context,
                                         outcome="failure", reason="code_replayed", client_id=client_id,
                                         details={"grant_id": replayed})
        return redemption.code
