"""Token revocation (RFC 7009). Revoking a refresh token revokes its grant and every access token
issued under it (§2.1); revoking an access token stops it at once. Unknown tokens get 200 (§2.2)."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint

from idp.specs.authlib_request import audit_context
from idp.specs.ports import TokenFinding
from idp.specs.rfc6749_grants import CLIENT_AUTH_METHODS


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        tokens: TokenFinding = self.server.token_lookup
        return tokens.find_token(token_string, token_type_hint)

    def revoke_token(self, token: Any, request: Any) -> None:
        tokens: TokenFinding = self.server.token_lookup
        tokens.revoke_token(token, audit_context(request))
