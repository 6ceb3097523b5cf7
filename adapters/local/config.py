"""Configuration of the ``local`` adapter (version 1): nothing beyond the common fields."""

from __future__ import annotations

from typing import ClassVar, Literal

from adapters.base import Adapter
from adapters.config import PASSWORD, PASSWORD_LEVELS, AdapterConfig, AdapterContext, Produces


class LocalConfig(AdapterConfig):
    capabilities: ClassVar[frozenset[str]] = frozenset({PASSWORD})
    config_version: ClassVar[int] = 1

    type: Literal["local"]

    def open(self, context: AdapterContext) -> Adapter:
        from adapters.local.adapter import LocalPasswordAdapter

        if context.storage is None:
            raise ValueError("the local adapter needs the durable store (pass storage= to load_adapters)")
        return LocalPasswordAdapter(
            self.id, context.storage, issuer=context.settings.issuer, display_names=self.display_name
        )

    def produces(self) -> Produces:
        """A local account: its user name, name, e-mail, phone and roles (``vn_roles``)."""
        return Produces(PASSWORD_LEVELS, frozenset({"preferred_username", "name", "email", "phone_number", "vn_roles"}))
