"""Page contexts as endpoints give them -> the exact shapes the templates read.

Endpoints may pass dicts or objects (dataclasses) for list items; optional fields get their
defaults here, so templates stay simple and strict mode still catches a misspelt variable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: Scopes whose claims identify a person across services (shown with a warning on consent).
RESTRICTED_SCOPES = frozenset({"vn_id", "vn_eid", "vn_org", "vn_official", "vn_cert", "vn_civil"})


def _field(item: Any, name: str, default: Any = None) -> Any:
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)


def _login(values: dict[str, Any]) -> None:
    values["adapters"] = [
        {"id": _field(a, "id"), "kind": _field(a, "kind", "password"),
         "display_name": _field(a, "display_name") or _field(a, "id"), "start_url": _field(a, "start_url")}
        for a in values.get("adapters") or []
    ]


def _consent(values: dict[str, Any]) -> None:
    has_message = values["has_message"]
    scopes = []
    for scope in values.get("scopes") or []:
        name = scope if isinstance(scope, str) else _field(scope, "name")
        description_id = None if isinstance(scope, str) else _field(scope, "description_id")
        description_id = description_id or f"scope.{name}.description"
        restricted = (not isinstance(scope, str) and _field(scope, "restricted")) or name in RESTRICTED_SCOPES
        scopes.append({"name": name, "description_id": description_id if has_message(description_id) else None,
                       "restricted": bool(restricted)})
    values["scopes"] = scopes
    values["claims"] = [str(c) for c in values.get("claims") or []]
    if values.get("restricted") is None:
        values["restricted"] = any(s["restricted"] for s in scopes)


def _account(values: dict[str, Any]) -> None:
    values["grants"] = [
        {"client_id": _field(g, "client_id"), "client_name": _field(g, "client_name") or _field(g, "client_id"),
         "scopes": list(_field(g, "scopes") or []), "granted_at": _field(g, "granted_at"),
         "revoke_action": _field(g, "revoke_action")}
        for g in values.get("grants") or []
    ]
    values["recent_signins"] = [
        {"time": _field(s, "time"), "client_name": _field(s, "client_name"), "method": _field(s, "method"),
         "ip": _field(s, "ip")}
        for s in values.get("recent_signins") or []
    ]


_NORMALISERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "login.html": _login,
    "consent.html": _consent,
    "account.html": _account,
}


def normalise_context(template: str, values: dict[str, Any]) -> dict[str, Any]:
    """Fill optional fields of list items for ``template`` (in place; returns ``values``)."""
    normaliser = _NORMALISERS.get(template)
    if normaliser:
        normaliser(values)
    return values
