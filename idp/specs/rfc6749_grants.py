"""The token endpoint's grants (RFC 6749 §4.1.3, §4.4, §6) with PKCE (RFC 7636) and OIDC ID tokens.

Choices:
- PKCE is required for every client and only ``S256`` is accepted (authlib allows ``plain``).
- Clients authenticate with exactly the method they registered (``none`` only for public ones).
- A code is consumed when first presented, whoever presents it; a replayed code revokes the grant.
- Refresh tokens rotate on every use; a reused one revokes its whole grant (Security BCP §4.14).
- A refresh re-checks the person's directory accounts (idp.oidc.recheck): a deleted or disabled
  account ends the grant with ``invalid_grant``.
- ID tokens are added to code and refresh responses when ``openid`` was granted (OIDC Core §3.1.3.3, §12.2).
- ``private_key_jwt`` (RFC 7523) is one of the methods; the strict profile and a client's
  ``dpop_bound_access_tokens`` are enforced right after client authentication (:class:`ProfileChecks`);
  a verified DPoP proof's ``jkt`` binds the access token (``cnf``) and a public client's refresh token.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, OAuth2Error
from authlib.oauth2.rfc7636 import CodeChallenge

from idp.errors import GrantRefused
from idp.oidc.codes import AuthorizationCode
from idp.oidc.tokens import Authorization
from idp.specs.authlib_request import audit_context
from idp.specs.ports import CodeRedeeming, RefreshRotating, TokenIssuing

CLIENT_AUTH_METHODS = ["private_key_jwt", "client_secret_basic", "client_secret_post", "none"]
GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials"]


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only; the challenge comes from our stored code."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def get_authorization_code_challenge(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: AuthorizationCode) -> str:
        return "S256"


class IdTokenExtension:
    """Adds ``id_token`` to token responses when the grant carries ``openid`` (our Signer signs it)."""

    def __init__(self, issuer: TokenIssuing) -> None:
        self.issuer = issuer

    def __call__(self, grant: grants.BaseGrant) -> None:
        grant.register_hook("after_create_token_response", self.process_token)

    def process_token(self, grant: grants.BaseGrant, response: tuple[int, dict[str, Any], Any]) -> None:
        _, token, _ = response
        authorization: Authorization = grant.request.user
        if "openid" not in authorization.scopes or authorization.subject_id is None:
            return
        token["id_token"] = self.issuer.issue_id_token(authorization, grant.request.client.client,
                                                       token.get("access_token"))


class ProfileChecks:
    """Mixin for every token grant: the profile's checks once the client is known, and the DPoP
    key (``request.extras["dpop_jkt"]``, set by the token endpoint) passed to the token generator."""

    request: Any
    server: Any
    GRANT_TYPE: str | None

    def authenticate_token_endpoint_client(self) -> Any:
        from idp.specs.profile import enforce_token_request

        client = super().authenticate_token_endpoint_client()  # type: ignore[misc]
        enforce_token_request(self.server.settings, client.client, self.request)
        return client

    def generate_token(self, user: Any = None, scope: str | None = None, grant_type: str | None = None,
                       expires_in: int | None = None, include_refresh_token: bool = True) -> dict[str, Any]:
        issuer: TokenIssuing = self.server.token_issuer
        return issuer.generate_token(self.request.client.client, user, scope,
                                     include_refresh_token=include_refresh_token,
                                     dpop_jkt=self.request.extras.get("dpop_jkt"), successor=self.stored_successor())

    def stored_successor(self) -> str | None:
        """The refresh token already stored for this response (a rotation's), or None."""
        return None


class CodeGrant(ProfileChecks, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def save_authorization_code(self, code: str, request: Any) -> None:  # pragma: no cover - see /authorize
        raise NotImplementedError("codes are issued by the authorization endpoint")

    def query_authorization_code(self, code: str, client: Any) -> AuthorizationCode | None:
        redeemer: CodeRedeeming = self.server.code_redeemer
        found = redeemer.redeem_code(code, client.client_id, audit_context(self.request))
        if found is None or found.client_id != client.client_id:
            return None
        return found

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        return None  # consumed when it was queried

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Authorization:
        return authorization_code.authorization()


class RefreshGrant(ProfileChecks, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Any:
        # A token bound to another DPoP key (RFC 9449 §5) is refused without being consumed.
        rotator: RefreshRotating = self.server.refresh_rotator
        try:
            return rotator.use_refresh_token(refresh_token, self.request.client.client,
                                             dpop_jkt=self.request.extras.get("dpop_jkt"),
                                             context=audit_context(self.request))
        except GrantRefused as refused:
            raise InvalidGrantError(refused.description) from None

    def stored_successor(self) -> str | None:
        """The successor the rotation stored with its claim."""
        successor: str | None = self.request.refresh_token.successor
        return successor

    def create_token_response(self) -> Any:
        """authlib's response; a failure that is not a refusal (a backend unavailable while the
        access token, its audit event or the ID token is made: answered 503) undoes the rotation
        first, so a 503 means nothing took effect and the retry with the same token succeeds."""
        try:
            return super().create_token_response()
        except (OAuth2Error, GrantRefused):
            raise
        except Exception:
            record = getattr(self.request, "refresh_token", None)
            if record is not None:
                rotator: RefreshRotating = self.server.refresh_rotator
                rotator.restore(record)
            raise

    def authenticate_user(self, refresh_token: Any) -> Authorization:
        authorization: Authorization = refresh_token.authorization()
        return authorization

    def revoke_old_credential(self, refresh_token: Any) -> None:
        return None  # marked used atomically when it was presented


class ClientCredentialsGrant(ProfileChecks, grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt", "client_secret_basic", "client_secret_post"]
