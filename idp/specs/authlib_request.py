"""Plain HTTP request data in the shape authlib's server expects (framework-neutral)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import lru_cache

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError

from idp.audit.events import AuditContext


class PlainPayload(OAuth2Payload):
    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class PlainOAuth2Request(OAuth2Request):
    """An OAuth2Request built from already-read query and form items.

    The fields are those ``OAuth2Request.__init__`` sets (a test keeps them equal); the transport
    check it makes is remembered per URI, which is always this provider's issuer plus a path."""

    def __init__(self, method: str, uri: str, headers: Mapping[str, str],
                 query: Sequence[tuple[str, str]], form: Sequence[tuple[str, str]]) -> None:
        if not _secure_transport(uri):
            raise InsecureTransportError()
        self.method = method
        self.uri = uri
        self.headers = headers
        self._body = None
        self.client = None
        self.auth_method = None
        self.user = None
        self.authorization_code = None
        self.refresh_token = None
        self.credential = None
        self._scope = None
        self._args = {k: v for k, v in reversed(list(query))}
        self._form = {k: v for k, v in reversed(list(form))}
        self.payload = PlainPayload([*query, *form])
        self.extras: dict[str, object] = {}

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@lru_cache(maxsize=64)
def _secure_transport(uri: str) -> bool:
    try:
        InsecureTransportError.check(uri)
    except InsecureTransportError:
        return False
    return True


def audit_context(request: OAuth2Request | None) -> AuditContext | None:
    """Where an authlib request came from (set by the endpoint that built it), for audit events."""
    context = getattr(request, "extras", {}).get("audit_context") if request is not None else None
    return context if isinstance(context, AuditContext) else None
