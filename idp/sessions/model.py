"""The SSO session record."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from idp.storage.ephemeral.base import shallow_record


@dataclass(frozen=True)
class SsoSession:
    """One person's signed-in browser.

    ``id`` is the cookie value (never leaves the browser and the store); ``sid`` is the public
    session identifier put in ID tokens and logout tokens. ``grants`` maps each client that
    received tokens in this session to the grant id they were issued under, so logout can revoke
    them all. Times are seconds since the epoch. ``entitlements``: the organisations the sign-in's
    source says the person may act for (idp.oidc.flow.organisations), as records.
    """

    id: str
    sid: str
    subject_id: str
    auth_time: int
    created_at: int
    last_seen: int
    acr: str | None = None
    amr: tuple[str, ...] = ()
    adapter: str | None = None
    username: str | None = None
    grants: dict[str, str] = field(default_factory=dict)
    upstream: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    entitlements: tuple[dict[str, Any], ...] = ()

    def replace(self, **changes: Any) -> SsoSession:
        return dataclasses.replace(self, **changes)

    def to_record(self) -> dict[str, Any]:
        record = shallow_record(self)
        record["amr"] = list(self.amr)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> SsoSession:
        return cls(**{**record, "amr": tuple(record.get("amr") or ()),
                      "entitlements": tuple(record.get("entitlements") or ())})
