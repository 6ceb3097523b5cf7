"""``prompt`` (OIDC Core §3.1.2.1): known values, ``none`` alone; ``max_age``: a non-negative
integer of at most nine digits."""

from __future__ import annotations

from idp.errors import OAuthError
from idp.specs.authorization_checks.checking import Checking

PROMPTS = {"none", "login", "consent", "select_account"}


def check(checking: Checking) -> None:
    prompt = tuple((checking.values["prompt"] or "").split())
    if set(prompt) - PROMPTS:
        raise OAuthError("invalid_request", "unknown prompt value")
    if "none" in prompt and len(prompt) > 1:
        raise OAuthError("invalid_request", "prompt=none cannot be combined with other values")
    raw_max_age = checking.values["max_age"]
    max_age = None
    if raw_max_age is not None:
        if not raw_max_age.isdigit() or len(raw_max_age) > 9:
            raise OAuthError("invalid_request", "max_age must be a non-negative integer")
        max_age = int(raw_max_age)
    checking.fields.update(prompt=prompt, max_age=max_age)
