"""Sign-in at an upstream (national e-ID, another OIDC provider): the button on the login page
goes to ``/interaction/{id}/upstream/{adapter}``; the upstream answers at ``/callback/{adapter}``.
State (the upstream's ``state``, nonce and PKCE verifier) is kept under the upstream ``state`` value
with the key of the browser that started the sign-in (idp.web.binding), and consumed once (a
replayed callback fails). A callback in any other browser is refused (audited: ``signin`` denied,
``foreign_browser``) before anything is asked of the upstream, and leaves that browser's session as
it was: a link to someone else's upstream answer cannot sign a victim in as that someone (login
CSRF)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from adapters.base import AdapterError, RequestData, SourceUnavailable
from idp.endpoints.common import provider_of
from idp.endpoints.interaction import finish_login, offered_adapters, pending_interaction
from idp.errors import PageError
from idp.web.binding import browser_key, from_this_browser
from idp.web.context import audit_context

router = APIRouter()
UPSTREAM_KIND = "upstream"
UPSTREAM_TTL = 600


@router.get("/interaction/{interaction_id}/upstream/{adapter_id}")
def upstream_start(request: Request, interaction_id: str, adapter_id: str) -> Response:
    provider = provider_of(request)
    interaction = pending_interaction(request, interaction_id)
    entries = {e.id: e for e in offered_adapters(provider, interaction)}
    entry = entries.get(adapter_id)
    if entry is None or "redirect" not in entry.capabilities:
        raise PageError("invalid_request")
    callback = f"{provider.issuer}/callback/{adapter_id}"
    try:
        url, pending = entry.adapter.begin(callback)
    except AdapterError as exc:
        provider.record("adapter.error", context=audit_context(request), outcome="failure", adapter=adapter_id,
                        client_id=interaction.request.client_id, reason=exc.reason)
        raise PageError("source_unavailable", status_code=503) from None
    state = pending.get("state")
    if not isinstance(state, str) or not state:
        raise PageError("server_error", status_code=500)
    provider.ephemeral.upsert(UPSTREAM_KIND, state, {"pending": pending, "interaction": interaction.id,
                                                     "adapter": adapter_id, "browser": browser_key(request),
                                                     "client": interaction.request.client_id},
                              UPSTREAM_TTL)
    if urlsplit(url).scheme not in ("https", "http"):
        raise PageError("server_error", status_code=500)
    return RedirectResponse(url, status_code=303)


@router.get("/callback/{adapter_id}")
def upstream_callback(request: Request, adapter_id: str) -> Response:
    provider = provider_of(request)
    context = audit_context(request)
    state = request.query_params.get("state", "")
    kept = provider.ephemeral.consume(UPSTREAM_KIND, state) if state and len(state) < 512 else None
    if kept is None or kept["adapter"] != adapter_id:
        provider.record("signin", context=context, outcome="failure", adapter=adapter_id, reason="invalid_state")
        raise PageError("upstream_rejected")
    if not from_this_browser(request, kept.get("browser")):
        provider.record("signin", context=context, outcome="denied", adapter=adapter_id,
                        client_id=kept.get("client"), reason="foreign_browser")
        raise PageError("interaction_foreign", status_code=403)
    interaction = pending_interaction(request, kept["interaction"])
    entry = next((e for e in offered_adapters(provider, interaction) if e.id == adapter_id), None)
    if entry is None:
        raise PageError("invalid_request")
    data = RequestData(query=dict(request.query_params), headers=dict(request.headers), client_ip=context.ip)
    try:
        identity = entry.adapter.complete(f"{provider.issuer}/callback/{adapter_id}", data,
                                          kept["pending"])
        return finish_login(request, interaction, identity, entry.type)
    except AdapterError as exc:
        provider.record("signin", context=context, outcome="failure", adapter=adapter_id,
                        client_id=interaction.request.client_id, reason=exc.reason)
        message = "source_unavailable" if isinstance(exc, SourceUnavailable) else "upstream_rejected"
        raise PageError(message, status_code=503 if message == "source_unavailable" else 400) from None
