"""``GET|POST /logout``: OpenID Connect RP-Initiated Logout 1.0.

- ``post_logout_redirect_uri`` must exactly match one the client registered (the client is named
  by ``client_id`` or the hint's ``aud``); otherwise an error page, never a redirect (§3).
- With a valid ``id_token_hint`` for the signed-in person the session ends at once; without one
  the person confirms on a page (§2, "SHOULD ask the End-User whether to log out").
- Logging out ends the SSO session and revokes every grant issued in it (refresh and access tokens).
- A session begun at an upstream (national e-ID) ends there too, on the way back: a page whose
  form posts to the upstream's logout endpoint on load (the upstream ID token, which may carry a
  personal ID number, only ever travels in that form's body), or a redirect without the token for
  an upstream configured for GET; the upstream returns to ``/logout/return/{token}``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from adapters.base import RedirectAdapter, UpstreamLogout
from idp.endpoints.common import clear_session_cookie, current_session, form_items, grouped, provider_of
from idp.errors import OAuthError, PageError
from idp.oidc.hints import audiences
from idp.oidc.provider import Provider
from idp.storage.models import Client
from idp.ui.render import render_page
from idp.web.context import audit_context
from idp.web.csrf import check_csrf
from idp.web.threads import run_blocking

router = APIRouter()
RETURN_KIND = "logout_return"
PARAMS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales", "logout_hint")


def _params(items: list[tuple[str, str]]) -> dict[str, str]:
    values = grouped(items)
    if any(len(values.get(name, [])) > 1 for name in PARAMS):
        raise PageError("invalid_request")
    return {name: values[name][0] for name in PARAMS if values.get(name) and values[name][0]}


def _check(request: Request, params: dict[str, str]) -> tuple[Client | None, dict | None]:
    provider = provider_of(request)
    hint_claims = None
    if "id_token_hint" in params:
        try:
            hint_claims = provider.flow.hints.verify(params["id_token_hint"])
        except OAuthError:
            raise PageError("invalid_request", detail="id_token_hint") from None
    client_id = params.get("client_id")
    if hint_claims is not None:
        auds = audiences(hint_claims)
        if client_id and client_id not in auds:
            raise PageError("invalid_request", detail="client_id")
        client_id = client_id or (auds[0] if len(auds) == 1 else None)
    client = provider.find_client(client_id) if client_id else None
    if client_id and client is None:
        raise PageError("unknown_client")
    target = params.get("post_logout_redirect_uri")
    if target and (client is None or target not in client.post_logout_redirect_uris):
        raise PageError("redirect_uri_mismatch")
    return client, hint_claims


@router.api_route("/logout", methods=["GET", "POST"])
async def logout(request: Request) -> Response:
    try:
        items = await form_items(request) if request.method == "POST" else list(request.query_params.multi_items())
    except OAuthError:
        raise PageError("invalid_request") from None
    if request.method == "POST" and any(k == "decision" for k, _ in items):
        form = dict(items)
        check_csrf(request, form)
        params = _params([(k, v) for k, v in items if k in PARAMS])
        client, _ = await run_blocking(_check, request, params)
        if form.get("decision") != "logout":
            return RedirectResponse("/account", status_code=303)
        return await run_blocking(_end, request, params, client)
    params = _params(items)
    client, hint = await run_blocking(_check, request, params)
    session = current_session(request)
    provider = provider_of(request)
    hint_names_session = (
        hint is not None and session is not None and client is not None
        and hint["sub"] == provider.subject_ids.for_client(session.subject_id, client)
    )
    if session is None or hint_names_session:
        return await run_blocking(_end, request, params, client)
    return render_page(request, "logout_confirm.html", {
        "client_name": client.name if client else None, "form_action": "/logout",
        "hidden": {k: v for k, v in params.items() if k != "id_token_hint"}, "ui_locales": params.get("ui_locales"),
    }, form_targets=[params["post_logout_redirect_uri"]] if "post_logout_redirect_uri" in params else [])


def _end(request: Request, params: dict[str, str], client: Client | None) -> Response:
    provider = provider_of(request)
    session = current_session(request)
    if session is not None:
        with provider.storage.db.transaction():  # the revocations and their audit event commit together
            clients = provider.end_session(session)
            provider.record("logout", context=audit_context(request, session.id), subject=session.subject_id,
                            client_id=client.client_id if client else None,
                            details={"clients": clients, "sid": session.sid})
    target = params.get("post_logout_redirect_uri")
    if target and "state" in params:
        target = _with_query(target, {"state": params["state"]})
    upstream = _upstream_logout(provider, session.upstream if session else {}, target,
                                client.name if client else None)
    if upstream is not None and upstream.method == "POST":
        response: Response = render_page(request, "upstream_logout.html", {
            "action": upstream.url, "params": dict(upstream.params)}, form_targets=[upstream.url])
    elif upstream is not None:
        response = RedirectResponse(_with_query(upstream.url, upstream.params), status_code=303)
    elif target:
        response = RedirectResponse(target, status_code=303)
    else:
        response = render_page(request, "logged_out.html", {"client_name": client.name if client else None})
    clear_session_cookie(response, provider)
    return response


def _with_query(url: str, params: Mapping[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _upstream_logout(provider: Provider, upstream: dict, target: str | None,
                     client_name: str | None) -> UpstreamLogout | None:
    """How to end the upstream (national e-ID) session too, returning to ``/logout/return``. An
    adapter's GET request that would carry ``id_token_hint`` in its URL is not made."""
    if not upstream.get("logout"):
        return None
    entry = next((e for e in provider.adapters.entries if e.id == upstream.get("adapter")), None)
    if entry is None or not isinstance(entry.adapter, RedirectAdapter):
        return None
    token = secrets.token_urlsafe(16)
    provider.ephemeral.upsert(RETURN_KIND, token, {"target": target, "client_name": client_name}, 600)
    try:
        request = entry.adapter.logout_request(upstream["logout"], f"{provider.issuer}/logout/return/{token}")
    except Exception:  # an upstream we cannot reach must not stop the local logout
        return None
    if request is None or (request.method != "POST" and "id_token_hint" in request.params):
        return None
    return request


@router.get("/logout/return/{token}")
def logout_return(request: Request, token: str) -> Response:
    """Back from the upstream's logout: on to the relying party's post-logout URI, or our page."""
    kept = provider_of(request).ephemeral.consume(RETURN_KIND, token) if len(token) < 64 else None
    if kept and kept.get("target"):
        return RedirectResponse(kept["target"], status_code=303)
    return render_page(request, "logged_out.html", {"client_name": (kept or {}).get("client_name")})
