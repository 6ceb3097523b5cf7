"""The client: ``client_id`` given once and known; ``redirect_uri``, ``state`` and
``response_mode`` read for the answer (each at most once). Every failure is a page."""

from __future__ import annotations

from idp.errors import OAuthError, PageError
from idp.specs.authorization_checks.checking import Checking, single
from idp.specs.authorization_request import RESPONSE_MODES


def check(checking: Checking) -> None:
    params = checking.params
    try:
        client_id = single(params, "client_id")
        redirect_uri = single(params, "redirect_uri")
        state = single(params, "state")
        response_mode = single(params, "response_mode") or "query"
    except OAuthError:
        raise PageError("invalid_request", status_code=400) from None
    if not client_id:
        raise PageError("invalid_request", status_code=400, detail="client_id")
    client = checking.find_client(client_id)
    if client is None:
        raise PageError("unknown_client", status_code=400)
    checking.client, checking.redirect_uri, checking.state = client, redirect_uri, state
    checking.response_mode = response_mode if response_mode in RESPONSE_MODES else "query"
