"""The person's part of an authorization: sign-in (password forms, upstream buttons) and consent.

``/interaction/{id}/login`` shows the sources the client may use; a password form posts back
there; an upstream button goes to ``/interaction/{id}/upstream/{adapter}`` and returns through
``/callback/{adapter}``. Success starts a new SSO session and resumes ``/authorize``.
Failures are pages with one message (never "unknown user" versus "wrong password").
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from adapters.base import AdapterError, Identity, InvalidCredentials, RequestData, SourceUnavailable
from idp.endpoints.common import current_session, form_items, provider_of, set_session_cookie
from idp.endpoints.internal_clients import client_for
from idp.errors import OAuthError, PageError
from idp.oidc.assurance import after_sign_in, authentication_json
from idp.oidc.interaction import Interaction
from idp.oidc.provider import Provider
from idp.oidc.signin import start_session, subject_for
from idp.ui.render import render_page
from idp.web.context import audit_context
from idp.web.csrf import check_csrf

router = APIRouter()
UPSTREAM_KIND = "upstream"
MFA_KIND = "mfa_pending"
MFA_TTL = 300
UPSTREAM_TTL = 600


def _interaction(request: Request, interaction_id: str) -> Interaction:
    interaction = provider_of(request).interactions.get(interaction_id)
    if interaction is None:
        raise PageError("session_expired")
    return interaction


async def _form(request: Request) -> dict[str, str]:
    try:
        items = await form_items(request)
    except OAuthError:
        raise PageError("invalid_request") from None
    form = dict(items)
    check_csrf(request, form)
    return form


def offered_adapters(provider: Provider, interaction: Interaction) -> list[Any]:
    """The adapters this sign-in may use: the policy's, narrowed by the prompt being answered."""
    entries = provider.adapters_for(interaction.request.client_id)
    wanted = (interaction.prompt or {}).get("adapters")
    return [e for e in entries if not wanted or e.id in wanted]


def _login_page(request: Request, interaction: Interaction, *, error_id: str | None = None,
                status_code: int = 200) -> Response:
    provider = provider_of(request)
    client = client_for(provider, interaction.request.client_id)
    adapters = []
    for entry in offered_adapters(provider, interaction):
        kind = "redirect" if "redirect" in entry.capabilities else "password"
        if kind == "password" and "password" not in entry.capabilities:
            continue
        adapters.append({
            "id": entry.id, "kind": kind,
            "display_name": {"vi": entry.adapter.display_name("vi"), "en": entry.adapter.display_name("en")},
            "start_url": f"/interaction/{interaction.id}/upstream/{entry.id}",
        })
    context = {
        "client_name": client.name if client else None, "adapters": adapters, "error_id": error_id,
        "login_hint": interaction.request.login_hint, "form_action": f"/interaction/{interaction.id}/login",
        "interaction": interaction.id, "ui_locales": interaction.request.ui_locales,
        "page_url": f"/interaction/{interaction.id}/login",
    }
    # After the form, a redirect may go straight to the client (CSP form-action covers redirects).
    return render_page(request, "login.html", context, status_code=status_code,
                       form_targets=[interaction.request.redirect_uri])


@router.get("/interaction/{interaction_id}/login")
def login_page(request: Request, interaction_id: str) -> Response:
    return _login_page(request, _interaction(request, interaction_id))


@router.post("/interaction/{interaction_id}/login")
async def login_submit(request: Request, interaction_id: str) -> Response:
    form = await _form(request)
    interaction = _interaction(request, interaction_id)
    return await run_in_threadpool(_password_login, request, interaction, form)


def _password_login(request: Request, interaction: Interaction, form: dict[str, str]) -> Response:
    provider = provider_of(request)
    adapter_id = form.get("adapter", "")
    entries = {e.id: e for e in offered_adapters(provider, interaction)}
    entry = entries.get(adapter_id)
    if entry is None or "password" not in entry.capabilities:
        raise PageError("invalid_request")
    username = form.get("username", "").strip()[:255]
    password = form.get("password", "")[:1024]
    context = audit_context(request)
    client_id = interaction.request.client_id
    if not username or not password:
        return _login_page(request, interaction, error_id="login_failed", status_code=400)
    verdict = provider.throttle_check(username, context.ip)
    if verdict is not None:
        provider.record("signin", context=context, outcome="failure", username=username, client_id=client_id,
                        adapter=adapter_id, reason=verdict)
        error_id = "account_locked" if verdict == "account_locked" else "too_many_attempts"
        return _login_page(request, interaction, error_id=error_id, status_code=429)
    try:
        identity = entry.adapter.authenticate(username, password)
    except AdapterError as exc:
        if not isinstance(exc, SourceUnavailable):
            provider.throttle_failure(username, context.ip, context=context)
        reason = exc.reason
        if isinstance(exc, InvalidCredentials) and entry.type == "local":  # the audit trail tells them apart
            reason = "wrong_password" if provider.storage.accounts.get_by_username(username) else "unknown_user"
        provider.record("signin", context=context, outcome="failure", username=username, client_id=client_id,
                        adapter=adapter_id, reason=reason)
        error_id = "source_unavailable" if isinstance(exc, SourceUnavailable) else "login_failed"
        status = 503 if error_id == "source_unavailable" else 401
        return _login_page(request, interaction, error_id=error_id, status_code=status)
    account_id = identity.evidence.get("account_id")
    if entry.type == "local" and account_id and provider.totp is not None and provider.totp.is_enrolled(account_id):
        # First factor done: keep the identity aside until the second factor is shown.
        provider.ephemeral.upsert(MFA_KIND, interaction.id, {
            "identity": identity_record(identity), "adapter_type": entry.type, "username": username,
            "account_id": account_id}, MFA_TTL)
        return RedirectResponse(f"/interaction/{interaction.id}/mfa", status_code=303)
    provider.throttle_success(username, context.ip)
    return _finish_login(request, interaction, identity, entry.type, username=username)


def identity_record(identity: Identity) -> dict:
    return {"subject": identity.subject, "adapter_id": identity.adapter_id, "issuer": identity.issuer,
            "auth_time": identity.auth_time, "acr": identity.acr, "amr": list(identity.amr),
            "claims": dict(identity.claims), "evidence": dict(identity.evidence), "roles": list(identity.roles)}


def identity_from_record(record: dict) -> Identity:
    return Identity(**{**record, "amr": tuple(record["amr"]), "roles": tuple(record["roles"])})


@router.get("/interaction/{interaction_id}/mfa")
def mfa_page(request: Request, interaction_id: str) -> Response:
    provider = provider_of(request)
    interaction = _interaction(request, interaction_id)
    if provider.ephemeral.find(MFA_KIND, interaction.id) is None and not _second_factor_for_session(
            request, interaction):
        return RedirectResponse(f"/interaction/{interaction.id}/login", status_code=303)
    return render_page(request, "mfa.html", {"form_action": f"/interaction/{interaction.id}/mfa",
                                             "interaction": interaction.id,
                                             "ui_locales": interaction.request.ui_locales},
                       form_targets=[interaction.request.redirect_uri])


def _second_factor_for_session(request: Request, interaction: Interaction) -> bool:
    """The policy asks a signed-in person for a second factor: prepare it from the session, when
    their local account has one; otherwise the login page offers a stronger sign-in."""
    provider = provider_of(request)
    session = current_session(request)
    if session is None or (interaction.prompt or {}).get("kind") != "mfa" or provider.totp is None:
        return False
    account = provider.storage.accounts.get_by_subject(session.subject_id)
    if account is None or not provider.totp.is_enrolled(account.id):
        return False
    identity = Identity(subject=session.subject_id, adapter_id=session.adapter or "local", issuer=provider.issuer,
                        auth_time=session.auth_time, amr=session.amr, evidence={"account_id": account.id})
    provider.ephemeral.upsert(MFA_KIND, interaction.id, {
        "identity": identity_record(identity), "adapter_type": "local", "username": account.username,
        "account_id": account.id}, MFA_TTL)
    return True


@router.post("/interaction/{interaction_id}/mfa")
async def mfa_submit(request: Request, interaction_id: str) -> Response:
    form = await _form(request)
    return await run_in_threadpool(_second_factor, request, interaction_id, form.get("code", "").strip())


def _second_factor(request: Request, interaction_id: str, code: str) -> Response:
    provider = provider_of(request)
    interaction = _interaction(request, interaction_id)
    pending = provider.ephemeral.find(MFA_KIND, interaction.id)
    if pending is None:
        return RedirectResponse(f"/interaction/{interaction.id}/login", status_code=303)
    context = audit_context(request)
    username, account_id = pending["username"], pending["account_id"]
    verdict = provider.throttle_check(username, context.ip)
    ok = verdict is None and code and (provider.totp.verify(account_id, code) or (
        len(code) > 8 and provider.totp.use_recovery_code(account_id, code, context=context)))
    if not ok:
        if verdict is None:
            provider.throttle_failure(username, context.ip, context=context)
        provider.record("signin.mfa", context=context, outcome="failure", username=username,
                        client_id=interaction.request.client_id, reason=verdict or "invalid_code")
        error_id = "account_locked" if verdict else "invalid_code"
        return render_page(request, "mfa.html", {"form_action": f"/interaction/{interaction.id}/mfa",
                                                 "interaction": interaction.id, "error_id": error_id},
                           status_code=429 if verdict else 401, form_targets=[interaction.request.redirect_uri])
    provider.ephemeral.destroy(MFA_KIND, interaction.id)
    provider.throttle_success(username, context.ip)
    identity = identity_from_record(pending["identity"])
    identity = Identity(**{**identity.__dict__, "amr": (*identity.amr, "otp", "mfa"),
                           "auth_time": int(time.time())})
    provider.record("signin.mfa", context=context, username=username, client_id=interaction.request.client_id,
                    amr=identity.amr)
    return _finish_login(request, interaction, identity, pending["adapter_type"], username=username)


def _finish_login(request: Request, interaction: Interaction, identity: Identity, adapter_type: str,
                  *, username: str | None = None) -> Response:
    provider = provider_of(request)
    subject_id = subject_for(provider, identity, adapter_type)
    acr = provider.acr_for(identity, adapter_type)
    previous = current_session(request)
    kind = (interaction.prompt or {}).get("kind", "login")
    window = provider.policy_for(interaction.request.client_id).step_up_window_seconds
    state = after_sign_in(previous, identity, subject_id, kind=kind, window_seconds=window)
    session = start_session(provider, identity, subject_id, acr, previous, policy=authentication_json(state))
    if identity.evidence.get("logout"):  # to end the upstream session too when this one ends
        session = session.replace(upstream={"adapter": identity.adapter_id, "logout": identity.evidence["logout"]})
        provider.sessions.save(session)
    provider.record("signin", context=audit_context(request, session.id), subject=subject_id, username=username,
                    client_id=interaction.request.client_id, adapter=identity.adapter_id, acr=acr,
                    amr=tuple(identity.amr))
    provider.interactions.save(interaction.replace(logged_in_at=int(time.time()), session_id=session.id,
                                                   prompt=None))
    response = RedirectResponse(f"/authorize/resume/{interaction.id}", status_code=303)
    set_session_cookie(response, provider, session)
    return response


@router.get("/interaction/{interaction_id}/upstream/{adapter_id}")
def upstream_start(request: Request, interaction_id: str, adapter_id: str) -> Response:
    provider = provider_of(request)
    interaction = _interaction(request, interaction_id)
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
                                                     "adapter": adapter_id}, UPSTREAM_TTL)
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
    interaction = _interaction(request, kept["interaction"])
    entry = next((e for e in offered_adapters(provider, interaction) if e.id == adapter_id), None)
    if entry is None:
        raise PageError("invalid_request")
    data = RequestData(query=dict(request.query_params), headers=dict(request.headers), client_ip=context.ip)
    try:
        identity = entry.adapter.complete(f"{provider.issuer}/callback/{adapter_id}", data,
                                          kept["pending"])
        return _finish_login(request, interaction, identity, entry.type)
    except AdapterError as exc:
        provider.record("signin", context=context, outcome="failure", adapter=adapter_id,
                        client_id=interaction.request.client_id, reason=exc.reason)
        message = "source_unavailable" if isinstance(exc, SourceUnavailable) else "upstream_rejected"
        raise PageError(message, status_code=503 if message == "source_unavailable" else 400) from None


@router.get("/interaction/{interaction_id}/consent")
def consent_page(request: Request, interaction_id: str) -> Response:
    provider = provider_of(request)
    interaction = _interaction(request, interaction_id)
    session = current_session(request)
    prompt = interaction.prompt or {}
    if session is None or prompt.get("kind") != "consent":
        return RedirectResponse(f"/authorize/resume/{interaction_id}", status_code=303)
    client = client_for(provider, interaction.request.client_id)
    restricted = set(provider.restricted_scopes)
    scopes = [{"name": s, "restricted": s in restricted} for s in prompt.get("scopes") or interaction.request.scopes]
    claims = sorted(prompt.get("claims") or ())
    context = {"client_name": client.name if client else interaction.request.client_id, "scopes": scopes,
               "claims": claims, "form_action": f"/interaction/{interaction_id}/consent",
               "interaction": interaction_id, "ui_locales": interaction.request.ui_locales,
               "page_url": f"/interaction/{interaction_id}/consent"}
    return render_page(request, "consent.html", context, form_targets=[interaction.request.redirect_uri])


@router.post("/interaction/{interaction_id}/consent")
async def consent_submit(request: Request, interaction_id: str) -> Response:
    form = await _form(request)
    return await run_in_threadpool(_consent_decision, request, interaction_id, form.get("decision"))


def _consent_decision(request: Request, interaction_id: str, decision: str | None) -> Response:
    from idp.endpoints.authorize import error_to_client
    from idp.specs.authorization_request import RedirectableError

    provider = provider_of(request)
    interaction = _interaction(request, interaction_id)
    session = current_session(request)
    if session is None:
        return RedirectResponse(f"/authorize/resume/{interaction_id}", status_code=303)
    authz = interaction.request
    context = audit_context(request, session.id)
    if decision != "allow":
        provider.interactions.finish(interaction_id)
        provider.record("consent.denied", context=context, outcome="denied", subject=session.subject_id,
                        client_id=authz.client_id)
        return error_to_client(request, RedirectableError("access_denied", "the person declined",
                                                          redirect_uri=authz.redirect_uri, state=authz.state,
                                                          response_mode=authz.response_mode))
    prompt = interaction.prompt or {}
    scopes, claims = set(prompt.get("scopes") or ()), set(prompt.get("claims") or ())
    with provider.storage.db.transaction():
        provider.storage.consents.grant(session.subject_id, authz.client_id, scopes, claims)
        provider.record("consent.granted", context=context, subject=session.subject_id, client_id=authz.client_id,
                        details={"scope": " ".join(sorted(scopes)), "claims": sorted(claims)})
    provider.interactions.save(interaction.replace(
        prompt=None, consented_scopes=tuple(sorted(scopes | set(interaction.consented_scopes or ()))),
        consented_claims=tuple(sorted(claims | set(interaction.consented_claims or ())))))
    return RedirectResponse(f"/authorize/resume/{interaction_id}", status_code=303)
