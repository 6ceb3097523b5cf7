"""The redirect URI is required and one the client registered, compared as exact strings (RFC 9700
§4.1.1); otherwise a page. From here on, errors go back to it."""

from __future__ import annotations

from idp.errors import PageError
from idp.specs.authorization_checks.checking import Checking


def check(checking: Checking) -> None:
    if not checking.redirect_uri or checking.redirect_uri not in checking.known_client.redirect_uris:
        raise PageError("redirect_uri_mismatch", status_code=400)
    checking.redirect_verified = True
