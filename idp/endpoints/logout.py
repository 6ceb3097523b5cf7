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

from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from idp.endpoints.common import clear_session_cookie, current_session, form_items, grouped, provider_of
from idp.errors import OAuthError, PageError
from idp.oidc.logout import LogoutRequest
from idp.ui.render import render_page
from idp.web.context import audit_context
from idp.web.csrf import check_csrf
from idp.web.threads import run_blocking

router = APIRouter()
PARAMS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales", "logout_hint")


def _params(items: list[tuple[str, str]]) -> dict[str, str]:
    values = grouped(items)
    if any(len(values.get(name, [])) > 1 for name in PARAMS):
        raise PageError("invalid_request")
    return {name: values[name][0] for name in PARAMS if values.get(name) and values[name][0]}


def _check(request: Request, params: dict[str, str]) -> LogoutRequest:
    return provider_of(request).logouts.check(params)


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
        checked = await run_blocking(_check, request, params)
        if form.get("decision") != "logout":
            return RedirectResponse("/account", status_code=303)
        return await run_blocking(_end, request, params, checked)
    params = _params(items)
    checked = await run_blocking(_check, request, params)
    session = current_session(request)
    if session is None or provider_of(request).logouts.names_session(checked, session):
        return await run_blocking(_end, request, params, checked)
    return render_page(request, "logout_confirm.html", {
        "client_name": checked.client_name, "form_action": "/logout",
        "hidden": {k: v for k, v in params.items() if k != "id_token_hint"}, "ui_locales": params.get("ui_locales"),
    }, form_targets=[params["post_logout_redirect_uri"]] if "post_logout_redirect_uri" in params else [])


def _end(request: Request, params: dict[str, str], checked: LogoutRequest) -> Response:
    provider = provider_of(request)
    session = current_session(request)
    if session is not None:
        provider.logouts.end(session, checked, audit_context(request, session.id))
    target = checked.target
    if target and "state" in params:
        target = _with_query(target, {"state": params["state"]})
    upstream = provider.logouts.upstream(session, target, checked.client_name)
    if upstream is not None and upstream.method == "POST":
        response: Response = render_page(request, "upstream_logout.html", {
            "action": upstream.url, "params": dict(upstream.params)}, form_targets=[upstream.url])
    elif upstream is not None:
        response = RedirectResponse(_with_query(upstream.url, upstream.params), status_code=303)
    elif target:
        response = RedirectResponse(target, status_code=303)
    else:
        response = render_page(request, "logged_out.html", {"client_name": checked.client_name})
    clear_session_cookie(response, provider)
    return response


def _with_query(url: str, params: Mapping[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


@router.get("/logout/return/{token}")
def logout_return(request: Request, token: str) -> Response:
    """Back from the upstream's logout: on to the relying party's post-logout URI, or our page."""
    kept = provider_of(request).logouts.returned(token)
    if kept and kept.get("target"):
        return RedirectResponse(kept["target"], status_code=303)
    return render_page(request, "logged_out.html", {"client_name": (kept or {}).get("client_name")})
