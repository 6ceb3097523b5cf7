"""PKCE (RFC 7636) of every client: a ``code_challenge`` of 43 to 128 unreserved characters, with
``code_challenge_method=S256`` (``plain`` refused, RFC 9700 §2.1.1)."""

from __future__ import annotations

import re

from idp.errors import OAuthError
from idp.specs.authorization_checks.checking import Checking

PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def check(checking: Checking) -> None:
    challenge, method = checking.values["code_challenge"], checking.values["code_challenge_method"]
    if not challenge:
        raise OAuthError("invalid_request", "code_challenge (PKCE) is required")
    if method != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    if not PKCE_CHALLENGE.match(challenge):
        raise OAuthError("invalid_request", "code_challenge is malformed")
    checking.fields["code_challenge"] = challenge
