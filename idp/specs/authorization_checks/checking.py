"""An authorization request while it is being checked: its parameters, and what each check of the
chain has established (the client, the redirect URI, the fields of the request)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from idp.errors import OAuthError
from idp.specs.ports import PushedRequestContext
from idp.storage.models import Client

Params = dict[str, list[str]]
MAX_PARAM_LENGTH = 4096


def single(params: Mapping[str, list[str]], name: str) -> str | None:
    """The parameter's one value (None when absent or empty); invalid_request when it is given more
    than once or is longer than :data:`MAX_PARAM_LENGTH`."""
    values = params.get(name) or []
    if len(values) > 1:
        raise OAuthError("invalid_request", f"{name} given more than once")
    if not values:
        return None
    if len(values[0]) > MAX_PARAM_LENGTH:
        raise OAuthError("invalid_request", f"{name} is too long")
    return values[0] or None


@dataclass
class Checking:
    """``params``: the request's parameters (replaced by a pushed request's or a request object's);
    ``context``: what resolving them needs; ``find_client``: the clients the request may name."""

    params: Params
    context: PushedRequestContext
    find_client: Callable[[str], Client | None]
    pushed: bool = False
    client: Client | None = None
    redirect_uri: str | None = None
    redirect_verified: bool = False
    state: str | None = None
    response_mode: str = "query"
    values: dict[str, str | None] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def known_client(self) -> Client:
        """The client, once :mod:`.client` found it."""
        assert self.client is not None, "the client check runs first"
        return self.client
