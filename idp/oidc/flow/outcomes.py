"""What a step of the sign-in flow answers, and what it needs to know of the browser in hand.

Every step of :class:`~idp.oidc.flow.core.AuthorizationFlow` returns one outcome; the HTTP layer
turns it into a response (idp.web.flow_responses) and nothing else:

- :class:`IssueCode`: the authorization response (a code for the client, or for the provider's
  own pages the page to land on);
- :class:`Prompt`: send the browser to a page of the interaction (``login``, ``mfa``,
  ``consent``) or to its resumption (``resume``);
- :class:`ShowPage`: show a page of the interaction now (a form again, with its error);
- :class:`Upstream`: send the browser to an upstream identity source;
- :class:`Deny`: end the request with an OAuth error at the client's redirect URI.

Each carries ``session``: an SSO session the step started (its cookie is to be set).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from idp.audit.events import AuditContext
from idp.oidc.interaction import Interaction
from idp.sessions import SsoSession
from idp.specs.authorization_request import AuthorizationRequest


@dataclass(frozen=True)
class IssueCode:
    """``code`` (with the request's ``state``) to the request's redirect URI; or, for the provider's
    own pages, no code and the browser goes to ``landing``."""

    request: AuthorizationRequest
    code: str | None
    landing: str | None = None
    session: SsoSession | None = None


@dataclass(frozen=True)
class Prompt:
    """The browser goes to the interaction's ``page``: ``login``, ``mfa``, ``consent`` or ``resume``."""

    page: str
    interaction: Interaction
    session: SsoSession | None = None


@dataclass(frozen=True)
class ShowPage:
    """The interaction's ``page`` (``login``, ``mfa``, ``consent``) shown now, with ``error_id`` (a
    message of idp/ui/locales) and ``status``; ``facts`` is what the page shows (the sources offered,
    the client's name, the scopes asked)."""

    page: str
    interaction: Interaction
    error_id: str | None = None
    status: int = 200
    facts: Mapping[str, Any] = field(default_factory=dict)
    session: SsoSession | None = None


@dataclass(frozen=True)
class Upstream:
    """The browser goes to an upstream identity source at ``url``."""

    url: str
    session: SsoSession | None = None


@dataclass(frozen=True)
class Deny:
    """``error`` (RFC 6749 §4.1.2.1) with ``description`` to the request's redirect URI."""

    request: AuthorizationRequest
    error: str
    description: str | None
    session: SsoSession | None = None


Outcome = IssueCode | Prompt | ShowPage | Upstream | Deny


class Browser(Protocol):
    """The browser a step is taken for, as the HTTP layer knows it (idp.endpoints.common.browser_of).

    ``key`` and ``owns`` are the binding of idp.web.binding; ``session`` is read once, when a step
    asks for it (a step that does not need it costs no store read)."""

    def key(self) -> str:
        """The browser's binding key (made now, and its cookie set with the response, when it has none)."""
        ...

    def owns(self, key: str | None) -> bool:
        """Whether this is the browser whose key is ``key`` (never for no key)."""
        ...

    def session(self) -> SsoSession | None:
        """The browser's live SSO session, if any."""
        ...

    def context(self, session_id: str | None = None) -> AuditContext:
        """Where the request came from, for audit events (with ``session_id``)."""
        ...
