"""The provider's own pages as a client: signing in to the account page uses the same interaction
(login, MFA, policies) as any relying party, then returns to ``/account`` instead of issuing a code."""

from __future__ import annotations

import secrets

from idp.oidc.provider import ACCOUNT_CLIENT_ID, Provider
from idp.specs.authorization_request import AuthorizationRequest
from idp.storage.models import Client


def account_client(provider: Provider) -> Client:
    return Client(client_id=ACCOUNT_CLIENT_ID, name="Tài khoản của tôi", auth_method="none",
                  redirect_uris=(provider.issuer + "/account",), scopes=("openid",), trusted=True)


def client_for(provider: Provider, client_id: str) -> Client | None:
    if client_id == ACCOUNT_CLIENT_ID:
        return account_client(provider)
    return provider.find_client(client_id)


def account_request(provider: Provider, *, prompt: tuple[str, ...] = ()) -> AuthorizationRequest:
    return AuthorizationRequest(client_id=ACCOUNT_CLIENT_ID, redirect_uri=provider.issuer + "/account",
                                scopes=("openid",), code_challenge=secrets.token_urlsafe(32), prompt=prompt)
