"""A client that must push its authorization requests (RFC 9126 §5: globally, by its metadata, or
by the strict profile) sent a pushed one."""

from __future__ import annotations

from idp.errors import OAuthError
from idp.specs.authorization_checks.checking import Checking
from idp.specs.profile import requires_par


def check(checking: Checking) -> None:
    if not checking.pushed and requires_par(checking.context.settings, checking.known_client):
        raise OAuthError("invalid_request", "this client must use pushed authorization requests (/par)")
