"""What a check (and the engine) answers: go on, ask the person something, or refuse.

``Prompt.reason_id`` names a message of the page catalogue (idp/ui/locales); ``Deny.error`` is an
OAuth/OIDC error code returned to the client (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6) with
``reason`` as its ``error_description`` (English, no personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from policies.loa import Level

PromptKind = Literal["login", "mfa", "step_up", "consent"]


@dataclass(frozen=True)
class Ok:
    """Nothing more to ask for this check."""


OK = Ok()


@dataclass(frozen=True)
class Prompt:
    """The person must act before the request can go on.

    ``kind``: login (sign in again / afresh), mfa (a second factor), step_up (a stronger sign-in,
    time-boxed), consent. ``required_acr``: the level the next sign-in must reach; ``adapters``:
    the adapter ids the login page may offer (already narrowed to those allowed and able to reach
    ``required_acr`` when their abilities are known); ``scopes`` / ``claims``: what consent is asked
    for. ``check``: the name of the check that asked (for logs and tests).
    """

    kind: PromptKind
    reason_id: str
    check: str = ""
    required_acr: Level | None = None
    adapters: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    claims: tuple[str, ...] = ()


@dataclass(frozen=True)
class Deny:
    """The request ends with an error to the client (never a weaker token)."""

    error: str
    reason: str
    check: str = ""


Outcome = Ok | Prompt | Deny
