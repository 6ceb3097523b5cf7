"""The parameters /authorize uses: a pushed request's (PAR ``request_uri``, RFC 9126 §4: single use,
with the pusher's ``client_id``), a request object's members (``request``, RFC 9101 §5), or the
request's own. An unknown or expired ``request_uri`` is a page; a second use goes back to the
pushed redirect URI with ``invalid_request_uri``."""

from __future__ import annotations

from idp.errors import OAuthError, PageError
from idp.specs.authorization_checks.checking import Checking, Params
from idp.specs.authorization_request import RedirectableError
from idp.specs.ports import PushedRequestContext
from idp.specs.rfc9101_jar import request_object_parameters

URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
KIND = "par"
USED_KIND = "par_used"


def resolve(checking: Checking) -> None:
    params, context = checking.params, checking.context
    uris = params.get("request_uri") or []
    if len(uris) == 1 and uris[0].startswith(URN_PREFIX):
        checking.params, checking.pushed = _pushed(context, params, uris[0][len(URN_PREFIX):]), True
        return
    objects = params.get("request") or []
    if len(objects) == 1 and objects[0]:
        client_ids = params.get("client_id") or []
        client = context.find_client(client_ids[0]) if len(client_ids) == 1 else None
        if client is None:
            raise PageError("unknown_client", status_code=400)
        try:
            inner = request_object_parameters(context, client, objects[0])
        except OAuthError as exc:
            raise PageError("invalid_request", detail=f"{exc.error}: {exc.description}") from None
        checking.params = {**inner, "client_id": [client.client_id]}


def _pushed(context: PushedRequestContext, params: Params, request_id: str) -> Params:
    record = context.ephemeral.find(KIND, request_id) if 0 < len(request_id) <= 64 else None
    if record is None:
        raise PageError("invalid_request", detail="invalid_request_uri: the request_uri is unknown or expired")
    if (params.get("client_id") or []) != [record["client_id"]]:
        raise PageError("invalid_request", detail="client_id")
    if not context.ephemeral.add_once(USED_KIND, request_id, context.settings.par_ttl_seconds + 5):
        context.record("par.reused", client_id=record["client_id"], outcome="failure", reason="request_uri_reused")
        raise RedirectableError("invalid_request_uri", "the request_uri was already used",
                                redirect_uri=record["redirect_uri"], state=record["state"],
                                response_mode=record["response_mode"])
    return {name: list(values) for name, values in record["params"].items()}
