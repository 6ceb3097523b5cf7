"""Token introspection (RFC 7662). Callers authenticate as clients; a client may introspect its own
tokens, and resource servers registered with ``introspection: true`` may introspect any. Anything
else, and any inactive token, is ``{"active": false}`` (§2.2)."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from idp.specs.ports import TokenFinding
from idp.specs.rfc6749_grants import CLIENT_AUTH_METHODS


class IntrospectionEndpoint(_IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = [m for m in CLIENT_AUTH_METHODS if m != "none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        tokens: TokenFinding = self.server.token_lookup
        return tokens.find_token(token_string, token_type_hint)

    def check_permission(self, token: Any, client: Any, request: Any) -> bool:
        return bool(token.check_client(client) or client.client.extra.get("introspection"))

    def introspect_token(self, token: Any) -> dict[str, Any]:
        introspection: dict[str, Any] = token.introspection()
        return introspection
