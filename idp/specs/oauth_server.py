"""The one compose step of the token side: authlib's AuthorizationServer with our grants,
extensions and endpoints, in explicit order. Every other module talks to ``Provider``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import AuthorizationServer

from idp.specs.authlib_client import OAuthClient
from idp.specs.rfc6749_grants import (
    ClientCredentialsGrant,
    CodeGrant,
    IdTokenExtension,
    RefreshGrant,
    S256CodeChallenge,
)
from idp.specs.rfc7009_revocation import RevocationEndpoint
from idp.specs.rfc7523_client_assertion import METHOD as PRIVATE_KEY_JWT
from idp.specs.rfc7523_client_assertion import PrivateKeyJwtAuthentication
from idp.specs.rfc7662_introspection import IntrospectionEndpoint

if TYPE_CHECKING:
    from idp.oidc.provider import Provider


class OAuthServer(AuthorizationServer):
    def __init__(self, provider: Provider) -> None:
        super().__init__(scopes_supported=None)
        self.provider = provider
        self.register_token_generator("default", provider.generate_token)
        self.register_client_auth_method(PRIVATE_KEY_JWT, PrivateKeyJwtAuthentication(provider))
        id_tokens = IdTokenExtension(provider)
        self.register_grant(CodeGrant, [S256CodeChallenge(required=True), id_tokens])
        self.register_grant(RefreshGrant, [id_tokens])
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(RevocationEndpoint)
        self.register_endpoint(IntrospectionEndpoint)

    def query_client(self, client_id: str) -> OAuthClient | None:
        client = self.provider.find_client(client_id)
        return OAuthClient(client) if client else None

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        self.provider.save_token(token, request)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: Any) -> Any:
        return request  # already a PlainOAuth2Request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, list(headers)
