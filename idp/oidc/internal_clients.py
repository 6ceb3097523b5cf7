"""The provider's own pages as clients: signing in to the account page (``vnidp-account``) or the
security console (``vnidp-console``: staff accounts, local or directory, with a second factor) uses the same
interaction (login, MFA, policies) as any relying party, then returns to that page instead of
issuing a code."""

from __future__ import annotations

import secrets
from typing import Protocol

from idp.oidc.client_policies import ACCOUNT_CLIENT_ID, CONSOLE_CLIENT_ID
from idp.specs.authorization_request import AuthorizationRequest
from idp.storage.models import Client


def account_client(issuer: str) -> Client:
    return Client(client_id=ACCOUNT_CLIENT_ID, name="Tài khoản của tôi", auth_method="none",
                  redirect_uris=(issuer + "/account",), scopes=("openid",), trusted=True)


def console_client(issuer: str) -> Client:
    return Client(client_id=CONSOLE_CLIENT_ID, name="Bảng điều khiển kiểm toán", auth_method="none",
                  redirect_uris=(issuer + "/console",), scopes=("openid",), trusted=True)


#: Where each internal client lands after a successful sign-in (instead of receiving a code).
LANDING_PAGES = {ACCOUNT_CLIENT_ID: "/account", CONSOLE_CLIENT_ID: "/console"}


class ClientFinder(Protocol):
    def find_client(self, client_id: str | None) -> Client | None: ...


def client_for(issuer: str, clients: ClientFinder, client_id: str) -> Client | None:
    """The client ``client_id``: one of the provider's own pages, or a registered one."""
    if client_id == ACCOUNT_CLIENT_ID:
        return account_client(issuer)
    if client_id == CONSOLE_CLIENT_ID:
        return console_client(issuer)
    return clients.find_client(client_id)


def landing_of(issuer: str, authz: AuthorizationRequest) -> str:
    """Where a sign-in for one of the provider's own pages lands: the page of that client its
    request was made for (``account_request(landing=...)``: a path under the client's landing
    page), else the client's landing page. A request from outside names only the registered
    redirect URI (the landing page itself)."""
    home = LANDING_PAGES[authz.client_id]
    page = authz.redirect_uri.removeprefix(issuer)
    if page != authz.redirect_uri and page.startswith(home + "/"):
        return page
    return home


def account_request(issuer: str, *, prompt: tuple[str, ...] = (), landing: str = "/account") -> AuthorizationRequest:
    """A sign-in for the account pages, landing at ``landing`` (a page under ``/account``)."""
    return AuthorizationRequest(client_id=ACCOUNT_CLIENT_ID, redirect_uri=issuer + landing,
                                scopes=("openid",), code_challenge=secrets.token_urlsafe(32), prompt=prompt)


def console_request(issuer: str) -> AuthorizationRequest:
    return AuthorizationRequest(client_id=CONSOLE_CLIENT_ID, redirect_uri=issuer + "/console",
                                scopes=("openid",), code_challenge=secrets.token_urlsafe(32))
