"""What every adapter's configuration has in common, and what opening an adapter may use.

Each adapter type defines one pydantic model per configuration ``version`` (a subclass of
:class:`AdapterConfig` with ``type: Literal["<name>"]``); the model validates one entry of the
adapters file and ``open(context)`` turns it into a working adapter. Unknown fields are errors,
so a misspelt setting stops start-up instead of being ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from adapters.base import Adapter
    from idp.settings import Settings
    from idp.storage.ephemeral import EphemeralStore
    from idp.storage.sql import SqlStorage

PASSWORD = "password"  # noqa: S105 - a capability name
REDIRECT = "redirect"
CERTIFICATE = "certificate"
ENRICHER = "enricher"
EVIDENCE = "evidence"
CAPABILITIES = frozenset({PASSWORD, REDIRECT, CERTIFICATE, ENRICHER, EVIDENCE})


PASSWORD_LEVELS = ("local-basic", "local-mfa")
"""What a password source yields: the password alone, or with the provider's second factor."""


@dataclass(frozen=True)
class Produces:
    """What sign-ins through one adapter can yield, as its configuration declares it: the local
    levels (short tokens, policies/loa.py) and the claim names of the Identity. Discovery lists
    only what some configured adapter produces, and the login page never offers an adapter for a
    level above its highest (:attr:`max_level`). The default is the least: the lowest level and no
    claims; each adapter type says more where it can."""

    levels: tuple[str, ...] = ("local-basic",)
    claims: frozenset[str] = frozenset()

    @property
    def max_level(self) -> str:
        """The highest level (short token) a sign-in through the adapter can reach."""
        from policies.loa import level_from_token

        return max(self.levels, key=level_from_token)


@dataclass(frozen=True)
class AdapterContext:
    """The provider's parts an adapter may need when it is opened (the local adapter needs the
    durable store; others need only their own configuration)."""

    settings: Settings
    storage: SqlStorage | None = None
    ephemeral: EphemeralStore | None = None


class AdapterConfig(BaseModel):
    """One entry of the adapters file. Subclasses set ``type`` to a Literal, ``config_version``
    to the version they read and ``capabilities`` to what the opened adapter can do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    capabilities: ClassVar[frozenset[str]] = frozenset()
    config_version: ClassVar[int] = 1

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", description="Stable identifier (client policies name it).")
    type: str
    version: int = Field(default=1, description="Version of this type's configuration format.")
    display_name: dict[str, str] = Field(
        default_factory=dict, description="Button or form title per locale, e.g. {vi: ..., en: ...}."
    )

    def open(self, context: AdapterContext) -> Adapter:
        """Build the adapter. Must not contact the source (start-up must not depend on it)."""
        raise NotImplementedError

    def produces(self) -> Produces:
        """What sign-ins through this adapter can yield (levels, claims); the least by default."""
        return Produces()


def display_name_for(names: Mapping[str, str], locale: str, fallback: str) -> str:
    """The name in ``locale``, else Vietnamese, else English, else ``fallback``."""
    for key in (locale, locale.split("-")[0], "vi", "en"):
        if names.get(key):
            return names[key]
    return fallback
