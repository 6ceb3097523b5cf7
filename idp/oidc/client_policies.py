"""Which policy governs a client, and which sign-in sources it allows (deny by default)."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.adapter_set import AdapterEntry, AdapterSet
from adapters.base import AccountLookup
from idp.oidc.capabilities import adapter_reach
from idp.storage.models import Client
from policies.document import ClientPolicy
from policies.loa import Level
from policies.policy_set import PolicySet
from policies.watch import WatchedPolicies

ACCOUNT_CLIENT_ID = "vnidp-account"
CONSOLE_CLIENT_ID = "vnidp-console"  # the security staff console: staff accounts, two factors


class ClientPolicies:
    def __init__(self, adapters: AdapterSet, policies: PolicySet) -> None:
        self.adapters = adapters
        #: The policies in force: the folder is read again when it changes (an activated version).
        self.watched = WatchedPolicies(policies, known_adapters=adapters.ids)
        #: The highest level each configured adapter can reach (what it declares it produces): the
        #: policy engine never offers an adapter for a level above it.
        self.reach: Mapping[str, Level] = adapter_reach(adapters.entries)

    @property
    def policies(self) -> PolicySet:
        """The policies in force now (see :mod:`policies.watch`)."""
        return self.watched.current()

    @policies.setter
    def policies(self, policies: PolicySet) -> None:
        """Put other policies in force (their folder, if any, is watched from now on)."""
        self.watched = WatchedPolicies(policies, known_adapters=self.adapters.ids)

    def policy_for(self, client_id: str) -> ClientPolicy:
        """The client's policy document (the built-in account pages may use every adapter)."""
        if client_id == ACCOUNT_CLIENT_ID:
            return ClientPolicy(version=1, adapters=tuple(self.adapters.ids), scopes=("openid",))
        if client_id == CONSOLE_CLIENT_ID:
            # Staff sources only: local accounts and directories (password sources that can describe
            # an account again), never an upstream. The console asks for the second factor itself,
            # so a person without one reaches its refusal page instead of the login form again.
            staff = tuple(e.id for e in self.adapters.entries if e.type == "local"
                          or ("password" in e.capabilities and isinstance(e.adapter, AccountLookup)))
            return ClientPolicy(version=1, adapters=staff, scopes=("openid",))
        return self.policies.for_client(client_id)

    def allowed_adapters(self, client_id: str) -> set[str]:
        return set(self.policy_for(client_id).adapters) & set(self.adapters.ids)

    def adapters_for(self, client_id: str) -> list[AdapterEntry]:
        """The adapter entries a client's sign-in may use."""
        allowed = self.allowed_adapters(client_id)
        return [entry for entry in self.adapters.entries if entry.id in allowed]

    def public_sub(self, client: Client) -> bool:
        """Whether the client's registration or policy asks for public ``sub`` values."""
        if client.extra.get("subject_type") == "public":
            return True
        return self.policy_for(client.client_id).subject_type == "public"
