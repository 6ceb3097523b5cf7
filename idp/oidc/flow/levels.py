"""Levels that complete: what an upstream sign-in is asked for, and the answer below it.

The level the client's policy needs (the prompt's ``required_acr``) goes to the upstream in its own
vocabulary (the adapter maps it: ``LoA2`` at the national portal, Keycloak's ``2`` at VNeID), with
``prompt=login`` / ``max_age`` when the policy asks for a fresh sign-in. A sign-in whose level is
below what was asked is kept (the person did sign in, at that level), audited as a refusal with the
asked and the achieved level (``signin``, denied, ``acr_unmet``), and answered with:

- ``unmet_authentication_requirements`` to the client (OpenID Connect Core Error Code 1.0) when it
  asked for the level as an essential ``acr`` (OIDC Core §5.5.1.1) or with ``prompt=none``;
- otherwise the ``level_unmet`` page: which level the service needs and how to reach it (for
  VNeID level 2: identification at the police with the chip ID card), never the login page again
  (which would be a loop); from there the person may go back to the service (which then gets
  ``unmet_authentication_requirements``) or sign in another way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.base import Identity, UpstreamRequest
from idp.oidc.assurance import level_of
from idp.oidc.interaction import Interaction
from policies import acr_request_from_claims
from policies.loa import Level, level_from_token
from policies.requirements import UNMET

#: Prompt reasons that need a new sign-in, not the upstream's existing session.
FRESH_REASONS = frozenset({"reauthentication_requested", "account_selection_requested", "max_age_exceeded",
                           "session_too_old"})
#: How a person reaches each level, as a message of idp/ui/locales (``level.how.<token>``).
HOW_TO_REACH = frozenset({"vneid-l1", "vneid-l2", "cccd-chip"})
PAGE = "level_unmet"


@dataclass(frozen=True)
class Shortfall:
    """A sign-in at ``achieved`` for a request that needed ``asked``."""

    asked: Level
    achieved: Level

    def details(self) -> dict[str, str]:
        """The audit details (short tokens)."""
        return {"asked": self.asked.token, "achieved": self.achieved.token}


def upstream_request(interaction: Interaction) -> UpstreamRequest:
    """What to ask the upstream for this interaction: its prompt's level, a fresh sign-in when the
    prompt is for one (or the request said ``prompt=login``), the request's ``max_age``."""
    prompt = interaction.prompt or {}
    fresh = prompt.get("reason_id") in FRESH_REASONS or "login" in interaction.request.prompt
    level = prompt.get("required_acr")
    return UpstreamRequest(level=level if isinstance(level, str) else None, fresh=fresh,
                           max_age=interaction.request.max_age)


def shortfall(interaction: Interaction, identity: Identity) -> Shortfall | None:
    """The gap between the level the interaction's prompt needs and the one ``identity`` reached;
    None when it was reached (or nothing in particular was needed)."""
    asked = (interaction.prompt or {}).get("required_acr")
    if not isinstance(asked, str):
        return None
    wanted, achieved = level_from_token(asked), level_of(identity)
    return None if achieved >= wanted else Shortfall(wanted, achieved)


def ends_at_client(interaction: Interaction) -> bool:
    """Whether the client gets ``unmet_authentication_requirements`` at once: it asked for the
    level as an essential ``acr``, or with ``prompt=none``."""
    request = interaction.request
    _values, essential = acr_request_from_claims(request.claims)
    return essential or "none" in request.prompt


def unmet_description(gap: Shortfall) -> str:
    return f"the sign-in reached acr {gap.achieved.token}, below the {gap.asked.token} this service needs"


def waiting_prompt(interaction: Interaction, gap: Shortfall) -> dict[str, Any]:
    """The interaction's prompt while its page says the level was not reached (the login prompt
    it answered is kept, so the person may sign in another way)."""
    return {**(interaction.prompt or {}), "unmet": gap.details()}


def recorded_shortfall(interaction: Interaction) -> Shortfall | None:
    """The shortfall the interaction's page is about, None when it is not on that page."""
    unmet = (interaction.prompt or {}).get("unmet")
    if not isinstance(unmet, dict):
        return None
    try:
        return Shortfall(level_from_token(str(unmet.get("asked"))), level_from_token(str(unmet.get("achieved"))))
    except ValueError:
        return None


def page_facts(gap: Shortfall, client_name: str | None) -> dict[str, Any]:
    """What the ``level_unmet`` page shows."""
    return {"client_name": client_name, "asked": gap.asked.token, "achieved": gap.achieved.token,
            "how_id": f"level.how.{gap.asked.token}" if gap.asked.token in HOW_TO_REACH else "level.how.other"}


__all__ = ["PAGE", "UNMET", "Shortfall", "ends_at_client", "page_facts", "recorded_shortfall", "shortfall",
           "unmet_description", "upstream_request", "waiting_prompt"]
