"""The admin API's services over one provider: the same services the ``idp`` commands call
(clients, accounts, a person's revocation), the policies in force and the signing-key ring, so
the HTTP layer (idp.endpoints.admin) parses, calls and renders without reaching a store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.base import AccountFinder
from idp.accounts.administration import AccountAdministration
from idp.admin.keys import key_rows
from idp.admin.people import PeopleSearch, PersonRevocation
from idp.admin.policies import PolicyChange, PolicyVersions
from idp.clients.changes import ClientAdministration
from idp.clients.metadata import check_key_metadata
from idp.clients.service import register_client, remove_client
from idp.mfa.reset import SecondFactorReset
from idp.oidc.provider import Provider
from idp.storage.models import Client
from keys.rotation import Rotation
from keys.schedule import KeySchedule
from policies.policy_set import PolicySet


class AdminServices:
    def __init__(self, provider: Provider) -> None:
        self._provider = provider
        storage = provider.storage
        self.clients = ClientAdministration(storage, allow_loopback=provider.settings.allow_loopback_client_urls,
                                            audit=provider.audit, forget=provider.forget_client)
        self.accounts = AccountAdministration(storage, audit=provider.audit)
        self.search = PeopleSearch(storage, provider.identity_keys.hash_key)
        self.people = PersonRevocation(storage, provider.sessions, provider.grants, provider.audit,
                                       notifier=provider.backchannel)
        self.factors = SecondFactorReset(storage, provider.audit, directories=[
            (e.id, e.adapter) for e in provider.adapters.entries if isinstance(e.adapter, AccountFinder)])

    # clients
    def list_clients(self) -> list[Client]:
        return list(self._provider.storage.clients.list())

    def create_client(self, client_id: str, *, auth_method: str, extra: dict[str, Any], actor: str,
                      **fields: Any) -> tuple[Client, str | None]:
        """Register a client with the checks of ``idp clients add`` (keys included)."""
        provider = self._provider
        if extra.get("jwks") is not None or extra.get("jwks_uri") is not None or auth_method == "private_key_jwt":
            check_key_metadata(auth_method, extra, allow_loopback=provider.settings.allow_loopback_client_urls)
        client, secret = register_client(provider.storage, client_id, auth_method=auth_method, extra=extra,
                                         audit=provider.audit, actor=actor, **fields)
        provider.forget_client(client_id)
        return client, secret

    def remove_client(self, client_id: str, *, actor: str) -> bool:
        provider = self._provider
        removed = len(client_id) <= 255 and remove_client(provider.storage, client_id, audit=provider.audit,
                                                          actor=actor)
        provider.forget_client(client_id)
        return removed

    # policies
    @property
    def policies(self) -> PolicySet:
        return self._provider.policies

    def adapter_ids(self) -> frozenset[str]:
        return frozenset(self._provider.adapters.ids)

    def _versions(self) -> PolicyVersions:
        return PolicyVersions(self._provider.policies.folder, known_adapters=self.adapter_ids())

    def activate_policy(self, name: str, text: str) -> PolicyChange:
        """A new version in force (this process at once, the others within seconds)."""
        change = self._versions().activate(name, text)
        self._provider.client_policies.watched.refresh()
        return change

    def roll_back_policy(self, name: str) -> PolicyChange:
        change = self._versions().roll_back(name)
        self._provider.client_policies.watched.refresh()
        return change

    # signing keys
    def signing_keys(self) -> list[dict[str, Any]]:
        provider = self._provider
        return key_rows(provider.storage.keys.list(), KeySchedule.from_settings(provider.settings),
                        datetime.now(UTC))

    def rotate_keys(self, alg: str, *, force: bool, actor: str) -> Rotation:
        rotation: Rotation = self._provider.ring.lifecycle.rotate(alg, force=force, actor=actor)
        self._provider.ring.refresh()
        return rotation

    def retire_key(self, kid: str, *, actor: str) -> None:
        self._provider.ring.lifecycle.retire(kid, actor=actor)
        self._provider.ring.refresh()
