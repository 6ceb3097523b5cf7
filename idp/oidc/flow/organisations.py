"""Acting for an organisation, a step of the sign-in flow (idp.oidc.flow.core).

A person who signed in as themselves and whose sign-in's source names organisations they may act
for (an adapter with the :class:`adapters.base.OrganisationEntitlements` capability: the national
portal's list, a registry) chooses, for each authorization of a service whose policy accepts
organisations (``organisations: true``), which organisation to act for, or themselves. The choice
belongs to that authorization only (kept in its interaction, never in the SSO session), is
audited (``signin`` with ``acting_for``: who, for which organisation, which client), and a choice
of an organisation the sign-in does not name is refused and audited
(``organisation_not_entitled``). What the tokens then say: idp.oidc.acting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from adapters.base import Identity, OrganisationEntitlements
from idp.oidc.interaction import Interaction
from idp.sessions import SsoSession
from policies import ClientPolicy

#: The interaction's page and the kind of its prompt.
PAGE = "organisation"
#: The form's value for acting as oneself.
MYSELF = "self"
REFUSED = "organisation_not_entitled"


def entitlements(entries: Iterable[Any], identity: Identity) -> tuple[dict[str, Any], ...]:
    """The organisations the adapter that signed ``identity`` in says they may act for, as records
    (``entries``: the client's adapter entries) with where each came from: its ``source`` and the
    ``adapter``."""
    for entry in entries:
        if entry.id == identity.adapter_id and isinstance(entry.adapter, OrganisationEntitlements):
            return tuple(dataclasses.asdict(e) | {"adapter": identity.adapter_id}
                         for e in entry.adapter.entitlements(identity))
    return ()


def to_choose(policy: ClientPolicy, session: SsoSession, interaction: Interaction) -> bool:
    """Whether this authorization asks the person to choose: the service accepts organisations,
    the sign-in names some, nothing chosen yet, and the client did not ask for no page at all
    (``prompt=none``: the person acts as themselves)."""
    return (policy.organisations and bool(session.entitlements) and interaction.acting_for is None
            and "none" not in interaction.request.prompt)


def chosen(session: SsoSession, choice: str) -> dict[str, Any] | None:
    """The interaction's ``acting_for`` for the form's ``choice``: ``{}`` for oneself, the
    entitlement with that tax code, or None when the sign-in names no such organisation."""
    if choice == MYSELF:
        return {}
    return next((dict(e) for e in session.entitlements if e.get("tax_code") == choice), None)


def page_facts(session: SsoSession, client_name: str | None) -> dict[str, Any]:
    return {"client_name": client_name, "organisations": [
        {"tax_code": e["tax_code"], "name": e["name"], "role": e.get("role") or "employee"}
        for e in session.entitlements], "myself": MYSELF}
