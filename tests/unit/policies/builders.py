"""Builders for policy-engine tests: policies from YAML text, sessions, contexts."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from policies.context import AuthorizationContext, SessionState
from policies.document import ClientPolicy, parse_policy
from policies.loa import Level
from policies.session import apply_login

ISSUER = "https://id.quangnam.example"
NOW = 1_750_000_000

# What each configured adapter can reach (the lead derives this from adapter configuration).
ADAPTER_REACH: Mapping[str, Level] = {
    "local": Level.LOCAL_MFA,
    "vneid": Level.VNEID_L2,
    "pki": Level.PKI_HW,
}


def policy(yaml_text: str = "", **fields: Any) -> ClientPolicy:
    """A policy from a YAML body (``version: 1`` added) or from keyword fields."""
    if fields:
        return ClientPolicy(version=1, **fields)
    return parse_policy("version: 1\n" + textwrap.dedent(yaml_text), "test.yaml")


def signed_in(level: Level, adapter: str, *, amr: tuple[str, ...] = ("pwd",), at: int = NOW - 60) -> SessionState:
    return apply_login(SessionState(), level=level, amr=amr, adapter_id=adapter, now=at)


def request(client_policy: ClientPolicy, **fields: Any) -> AuthorizationContext:
    values: dict[str, Any] = {
        "policy": client_policy, "issuer": ISSUER, "now": NOW, "request_time": NOW,
        "scopes": ("openid",), "adapter_max_acr": ADAPTER_REACH,
    }
    values.update(fields)
    for name in ("prompt", "requested_claims"):
        if name in values:
            values[name] = frozenset(values[name])
    return AuthorizationContext(**values)
