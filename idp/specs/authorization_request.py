"""An authorization request once checked (:class:`AuthorizationRequest`), and the error that goes
back to the client once its redirect URI is verified (:class:`RedirectableError`). The checks
themselves, each in its own module and run by one chain, are :mod:`idp.specs.authorization_checks`.

Follows RFC 6749 §4.1.1 and §4.1.2.1, OpenID Connect Core 1.0 §3.1.2.1-§3.1.2.2, RFC 7636 (PKCE)
and the OAuth 2.0 Security BCP (RFC 9700). Choices:
- ``response_type=code`` only; PKCE with ``S256`` required of every client (``plain`` refused).
- ``redirect_uri`` is REQUIRED and compared to the registered ones by exact string match.
- Until the client and redirect URI are known good, errors are shown as a page, never redirected
  (§4.1.2.1); after that, errors go back to the client with ``state`` and ``iss`` (RFC 9207).
- ``response_mode``: ``query`` (default) or ``form_post``.
- a restricted ``vn_*`` scope is refused to a client that does not authenticate with a strict method
  (the strict profile of restricted scopes, :mod:`idp.specs.profile`), even one stored before the rule.
- ``request`` / ``request_uri`` are refused with their specific errors unless a later profile
  (JAR, PAR) turns them on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from idp.errors import OAuthError
from idp.storage.ephemeral.base import shallow_record

RESPONSE_MODES = {"query", "form_post"}


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request, kept in the short-lived store during the interaction."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    state: str | None = None
    nonce: str | None = None
    response_mode: str = "query"
    prompt: tuple[str, ...] = ()
    max_age: int | None = None
    login_hint: str | None = None
    ui_locales: str | None = None
    id_token_hint: str | None = None
    acr_values: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return shallow_record(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> AuthorizationRequest:
        values = dict(record)
        for name in ("scopes", "prompt", "acr_values"):
            values[name] = tuple(values.get(name) or ())
        return cls(**values)


class RedirectableError(OAuthError):
    """An error to send back to the client's (validated) redirect URI."""

    def __init__(self, error: str, description: str | None, *, redirect_uri: str, state: str | None,
                 response_mode: str = "query") -> None:
        super().__init__(error, description)
        self.redirect_uri = redirect_uri
        self.state = state
        self.response_mode = response_mode
