"""The token side's authlib server: our grants, extensions and endpoints, in explicit order, over the
services the compose step (idp.app) built. It translates authlib's request objects into the plain
values those services take, and their domain errors into authlib's."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer
from authlib.oauth2.rfc6749.errors import InvalidGrantError

from idp.errors import GrantRefused
from idp.settings import Settings
from idp.specs.authlib_client import OAuthClient
from idp.specs.authlib_request import audit_context
from idp.specs.ports import ClientFinder, CodeRedeeming, RefreshRotating, TokenFinding, TokenIssuing
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

ENDPOINTS = (RevocationEndpoint, IntrospectionEndpoint)


class OAuthServer(AuthorizationServer):
    def __init__(self, *, settings: Settings, clients: ClientFinder, code_redeemer: CodeRedeeming,
                 token_issuer: TokenIssuing, refresh_rotator: RefreshRotating, token_lookup: TokenFinding,
                 client_assertions: PrivateKeyJwtAuthentication) -> None:
        super().__init__(scopes_supported=None)
        self.settings = settings
        self.clients = clients
        self.code_redeemer = code_redeemer
        self.token_issuer = token_issuer
        self.refresh_rotator = refresh_rotator
        self.token_lookup = token_lookup
        self.register_client_auth_method(PRIVATE_KEY_JWT, client_assertions)
        id_tokens = IdTokenExtension(token_issuer)
        self.register_grant(CodeGrant, [S256CodeChallenge(required=True), id_tokens])
        self.register_grant(RefreshGrant, [id_tokens])
        self.register_grant(ClientCredentialsGrant)
        for endpoint in ENDPOINTS:
            self.register_endpoint(endpoint)

    @property
    def grant_types(self) -> list[str]:
        """The grant types registered, in registration order (for discovery)."""
        return [grant.GRANT_TYPE for grant, _ in self._token_grants]

    @property
    def token_auth_methods(self) -> list[str]:
        """The client authentication methods some registered grant accepts, in order."""
        methods: dict[str, None] = {}
        for grant, _ in self._token_grants:
            methods.update(dict.fromkeys(grant.TOKEN_ENDPOINT_AUTH_METHODS))
        return list(methods)

    def endpoint_auth_methods(self, name: str) -> list[str]:
        """The client authentication methods of a registered endpoint (``revocation``, ...)."""
        return list(self._endpoints[name][0].CLIENT_AUTH_METHODS)

    @property
    def code_challenge_methods(self) -> list[str]:
        """The PKCE methods of the code grant's extension (RFC 7636 §4.3)."""
        return [m for grant, extensions in self._token_grants for ext in extensions or ()
                if isinstance(ext, S256CodeChallenge) for m in ext.SUPPORTED_CODE_CHALLENGE_METHOD]

    def query_client(self, client_id: str) -> OAuthClient | None:
        client = self.clients.find_client(client_id)
        return OAuthClient(client) if client else None

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        try:
            self.token_issuer.save_token(
                token, client=request.client.client, authorization=request.user,
                grant_type=request.payload.grant_type,
                successor=getattr(request.refresh_token, "successor", None),  # a rotation's, stored already
                dpop_jkt=request.extras.get("dpop_jkt"), context=audit_context(request))
        except GrantRefused as refused:
            raise InvalidGrantError(refused.description) from None

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: Any) -> Any:
        return request  # already a PlainOAuth2Request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, list(headers)
