"""The test source: checks fixed passwords and completes a redirect sign-in without leaving the
provider (``begin`` sends the browser straight back to the callback with a code and the state)."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from adapters.base import (
    AccountUnusable,
    Identity,
    InvalidCredentials,
    RequestData,
    SourceUnavailable,
    UpstreamRejected,
    UpstreamRequest,
)
from adapters.config import display_name_for
from adapters.testing.config import TestingConfig


class TestingAdapter:
    """A PasswordAdapter and RedirectAdapter with deterministic identities: ``subject`` is the
    username, claims and roles as configured."""

    __test__ = False

    def __init__(self, config: TestingConfig) -> None:
        self.id = config.id
        self.config = config

    def display_name(self, locale: str) -> str:
        return display_name_for(self.config.display_name, locale, f"Test ({self.id})")

    def _check_available(self) -> None:
        if self.config.unavailable:
            raise SourceUnavailable("test source configured as unavailable")

    def identity_for(self, username: str) -> Identity:
        user = self.config.users[username]
        claims = {"preferred_username": username, **user.claims}
        return Identity(
            subject=username,
            adapter_id=self.id,
            issuer=self.config.issuer,
            auth_time=int(time.time()),
            acr=self.config.acr,
            amr=tuple(self.config.amr),
            claims=claims,
            roles=tuple(user.roles),
        )

    def authenticate(self, username: str, password: str) -> Identity:
        self._check_available()
        user = self.config.users.get(username)
        expected = user.password.get_secret_value() if user else secrets.token_urlsafe(16)
        if user is None or not hmac.compare_digest(expected.encode(), password.encode()):
            raise InvalidCredentials()
        if user.disabled:
            raise AccountUnusable("disabled", reason="account_disabled")
        if user.password_expired:
            raise AccountUnusable("password expired", reason="password_expired")
        return self.identity_for(username)

    def _redirect_user(self) -> str:
        if self.config.redirect_user:
            return self.config.redirect_user
        if not self.config.users:
            raise SourceUnavailable("test source has no users")
        return next(iter(self.config.users))

    def begin(self, callback_url: str, request: UpstreamRequest | None = None) -> tuple[str, dict[str, Any]]:
        self._check_available()
        state, code = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        separator = "&" if "?" in callback_url else "?"
        url = callback_url + separator + urlencode({"code": code, "state": state})
        return url, {"state": state, "code": code, "username": self._redirect_user()}

    def complete(self, callback_url: str, request: RequestData, pending: Mapping[str, Any]) -> Identity:
        self._check_available()
        if "error" in request.query:
            raise UpstreamRejected("upstream returned an error", reason="upstream_error")
        state, code = request.query.get("state", ""), request.query.get("code", "")
        if not hmac.compare_digest(state.encode(), str(pending.get("state", "")).encode()):
            raise UpstreamRejected("state mismatch", reason="state_mismatch")
        if not hmac.compare_digest(code.encode(), str(pending.get("code", "")).encode()):
            raise UpstreamRejected("wrong code", reason="invalid_code")
        username = str(pending["username"])
        if username not in self.config.users:
            raise UpstreamRejected("unknown test user", reason="unknown_user")
        return self.identity_for(username)

    def logout_request(self, identity_hint: Mapping[str, Any], post_logout_redirect_uri: str) -> None:
        return None
