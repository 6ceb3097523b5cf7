"""The configured adapters of one provider, in configuration order, addressed by id."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import cast

from adapters.base import Adapter, PasswordAdapter, RedirectAdapter
from adapters.config import PASSWORD, REDIRECT, Produces
from idp.errors import IdpError


@dataclass(frozen=True)
class AdapterEntry:
    """One opened adapter with the type, capabilities and products its configuration declared."""

    id: str
    type: str
    capabilities: frozenset[str]
    adapter: Adapter
    produces: Produces = Produces()


class UnknownAdapter(KeyError, IdpError):
    """No configured adapter has that id."""


class AdapterSet:
    """Ordered, immutable set of opened adapters. Deny by default: :meth:`for_client` with an
    empty allow-list gives an empty set, never "all"."""

    def __init__(self, entries: Sequence[AdapterEntry]) -> None:
        self._entries = tuple(entries)
        self._by_id = {entry.id: entry for entry in self._entries}
        if len(self._by_id) != len(self._entries):
            raise ValueError("adapter ids must be unique")

    def __iter__(self) -> Iterator[Adapter]:
        return (entry.adapter for entry in self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, adapter_id: object) -> bool:
        return adapter_id in self._by_id

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(entry.id for entry in self._entries)

    @property
    def entries(self) -> tuple[AdapterEntry, ...]:
        return self._entries

    def names(self) -> dict[str, dict[str, str]]:
        """Every adapter's display name in Vietnamese and English (``{id: {"vi": ..., "en": ...}}``),
        as its configuration gives them: what pages show instead of the id."""
        return {entry.id: {"vi": entry.adapter.display_name("vi"), "en": entry.adapter.display_name("en")}
                for entry in self._entries}

    def get(self, adapter_id: str) -> Adapter:
        """The adapter with that id; raise UnknownAdapter."""
        try:
            return self._by_id[adapter_id].adapter
        except KeyError:
            raise UnknownAdapter(adapter_id) from None

    def entry(self, adapter_id: str) -> AdapterEntry:
        try:
            return self._by_id[adapter_id]
        except KeyError:
            raise UnknownAdapter(adapter_id) from None

    def for_client(self, allowed_ids: Iterable[str]) -> AdapterSet:
        """The adapters a client may use (its policy's allow-list), in configuration order.
        Ids that are not configured are ignored; an empty list allows nothing."""
        allowed = set(allowed_ids)
        return AdapterSet([entry for entry in self._entries if entry.id in allowed])

    def password_adapters(self) -> list[PasswordAdapter]:
        """Adapters that check a username and password (one form each on the login page)."""
        return [cast(PasswordAdapter, entry.adapter) for entry in self._entries if PASSWORD in entry.capabilities]

    def redirect_adapters(self) -> list[RedirectAdapter]:
        """Adapters that send the browser upstream (one button each on the login page)."""
        return [cast(RedirectAdapter, entry.adapter) for entry in self._entries if REDIRECT in entry.capabilities]

    def password_adapter(self, adapter_id: str) -> PasswordAdapter:
        """The password adapter with that id; raise UnknownAdapter when absent or not a password source."""
        entry = self.entry(adapter_id)
        if PASSWORD not in entry.capabilities:
            raise UnknownAdapter(adapter_id)
        return cast(PasswordAdapter, entry.adapter)

    def redirect_adapter(self, adapter_id: str) -> RedirectAdapter:
        entry = self.entry(adapter_id)
        if REDIRECT not in entry.capabilities:
            raise UnknownAdapter(adapter_id)
        return cast(RedirectAdapter, entry.adapter)

    def close(self) -> None:
        """Release what the adapters hold (connection pools)."""
        for entry in self._entries:
            close = getattr(entry.adapter, "close", None)
            if callable(close):
                close()
