"""The provider's own pages as clients: signing in to the account page (``vnidp-account``) or the
security console (``vnidp-console``: local accounts with a second factor only) uses the same
interaction (login, MFA, policies) as any relying party, then returns to that page instead of
issuing a code."""

from __future__ import annotations

import secrets

from idp.oidc.provider import ACCOUNT_CLIENT_ID, CONSOLE_CLIENT_ID, Provider
from idp.specs.authorization_request import AuthorizationRequest
from idp.storage.models import Client


def account_client(provider: Provider) -> Client:
    return Client(client_id=ACCOUNT_CLIENT_ID, name="Tài khoản của tôi", auth_method="none",
                  redirect_uris=(provider.issuer + "/account",), scopes=("openid",), trusted=True)


def console_client(provider: Provider) -> Client:
    return Client(client_id=CONSOLE_CLIENT_ID, name="Bảng điều khiển kiểm toán", auth_method="none",
                  redirect_uris=(provider.issuer + "/console",), scopes=("openid",), trusted=True)


#: Where each internal client lands after a successful sign-in (instead of receiving a code).
LANDING_PAGES = {ACCOUNT_CLIENT_ID: "/account", CONSOLE_CLIENT_ID: "/console"}


def client_for(provider: Provider, client_id: str) -> Client | None:
    if client_id == ACCOUNT_CLIENT_ID:
        return account_client(provider)
    if client_id == CONSOLE_CLIENT_ID:
        return console_client(provider)
    return provider.find_client(client_id)


def account_request(provider: Provider, *, prompt: tuple[str, ...] = ()) -> AuthorizationRequest:
    return AuthorizationRequest(client_id=ACCOUNT_CLIENT_ID, redirect_uri=provider.issuer + "/account",
                                scopes=("openid",), code_challenge=secrets.token_urlsafe(32), prompt=prompt)


def console_request(provider: Provider) -> AuthorizationRequest:
    return AuthorizationRequest(client_id=CONSOLE_CLIENT_ID, redirect_uri=provider.issuer + "/console",
                                scopes=("openid",), code_challenge=secrets.token_urlsafe(32))
