"""The person's part of an authorization: sign-in (password forms, upstream buttons) and consent.

``/interaction/{id}/login`` shows the sources the client may use; a password form posts back
there; an upstream button goes to ``/interaction/{id}/upstream/{adapter}`` and returns through
``/callback/{adapter}``. Success starts a new SSO session and continues the authorization at once.
Failures are pages with one message (never "unknown user" versus "wrong password", nor "locked":
a locked account is answered as a wrong password, and the page tells everyone how to get unlocked).

Every page of an interaction serves only the browser that started it (idp.web.binding) and, once
someone is signed in, only that session (:func:`pending_interaction`, :func:`check_session`);
another browser or session gets the ``interaction_foreign`` page (audited) and nothing is issued.
"""

from __future__ import annotations

import time
from typing import Any, NoReturn

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from adapters.base import AdapterError, Identity, InvalidCredentials, SourceUnavailable, lockout_key
from idp.endpoints.authorize import planned_release, proceed, release_details
from idp.endpoints.common import checked_form, current_session, provider_of, set_session_cookie
from idp.endpoints.internal_clients import LANDING_PAGES, client_for
from idp.errors import PageError
from idp.mfa.totp import TotpService
from idp.oidc.assurance import after_sign_in, authentication_json
from idp.oidc.interaction import Interaction
from idp.oidc.provider import Provider
from idp.oidc.signin import start_session, subject_for
from idp.sessions import SsoSession
from idp.specs.authorization_request import AuthorizationRequest
from idp.ui.render import render_page
from idp.web.binding import attach, browser_key, from_this_browser
from idp.web.context import audit_context
from idp.web.threads import run_blocking

router = APIRouter()
MFA_KIND = "mfa_pending"
MFA_TTL = 300


def pending_interaction(request: Request, interaction_id: str) -> Interaction:
    """The stored interaction ``interaction_id``, when this browser started it. Otherwise a page:
    ``session_expired`` (unknown or expired), ``interaction_foreign`` (another browser's, audited)."""
    interaction = provider_of(request).interactions.get(interaction_id)
    if interaction is None:
        raise PageError("session_expired")
    if not from_this_browser(request, interaction.browser):
        refuse_interaction(request, interaction, "foreign_browser")
    return interaction


def check_session(request: Request, interaction: Interaction, session: SsoSession | None) -> None:
    """Once someone is signed in for the interaction, only that session continues it (a consent,
    a second factor, the resumption): ``interaction_foreign`` for another session or none."""
    if interaction.session_id is not None and (session is None or session.id != interaction.session_id):
        refuse_interaction(request, interaction, "foreign_session", session)


def refuse_interaction(request: Request, interaction: Interaction, reason: str,
                       session: SsoSession | None = None) -> NoReturn:
    """Audit (``signin``, denied, ``reason``) and show the page that says this step belongs to
    another browser or session. The interaction stays as it is for its own browser."""
    provider = provider_of(request)
    provider.record("signin", context=audit_context(request, session.id if session else None), outcome="denied",
                    client_id=interaction.request.client_id, reason=reason,
                    subject=session.subject_id if session else None)
    raise PageError("interaction_foreign", status_code=403)


def begin_interaction(request: Request, authz: AuthorizationRequest, session: SsoSession | None, *, step: str,
                      prompt: dict[str, Any] | None = None) -> Response:
    """Start an interaction for the provider's own pages (account, console) bound to this browser
    and to ``session`` (the request's, if any), and go to its ``step`` (``resume``, ``login``, ``mfa``)."""
    interaction = provider_of(request).interactions.create(
        authz, browser=browser_key(request), session_id=session.id if session else None, prompt=prompt)
    url = {"resume": f"/authorize/resume/{interaction.id}", "login": f"/interaction/{interaction.id}/login",
           "mfa": f"/interaction/{interaction.id}/mfa"}[step]
    return attach(request, RedirectResponse(url, status_code=303))


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
async def login_page(request: Request, interaction_id: str) -> Response:
    return await run_blocking(lambda: _login_page(request, pending_interaction(request, interaction_id)))


@router.post("/interaction/{interaction_id}/login")
async def login_submit(request: Request, interaction_id: str) -> Response:
    form = await checked_form(request)
    return await run_blocking(_password_login, request, interaction_id, form)


async def _direct_login_page(request: Request) -> Response:
    return await login_page(request, request.path_params["interaction_id"])


async def _direct_login_submit(request: Request) -> Response:
    return await login_submit(request, request.path_params["interaction_id"])


# The direct route (idp.web.protocol): the sign-in form skips the framework's router.
ROUTES = {("GET", "/interaction/{interaction_id}/login"): _direct_login_page,
          ("POST", "/interaction/{interaction_id}/login"): _direct_login_submit}


def _password_login(request: Request, interaction_id: str, form: dict[str, str]) -> Response:
    provider = provider_of(request)
    interaction = pending_interaction(request, interaction_id)
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
    lockout = lockout_key(entry.adapter, username)  # one counter per account, whichever of its names is typed
    throttle = provider.throttle_check(lockout, context.ip)
    if not throttle.allowed:
        provider.record("signin", context=context, outcome="failure", username=username, client_id=client_id,
                        adapter=adapter_id, reason=throttle.reason)
        if throttle.reason == "ip_locked":  # the address, not the account: says nothing about the account
            return _login_page(request, interaction, error_id="too_many_attempts", status_code=429)
        # A hold on the account (locked, back-off) is answered as a wrong password: a different
        # answer would tell which user names exist. The audit trail keeps the true reason.
        return _login_page(request, interaction, error_id="login_failed", status_code=401)
    try:
        identity = entry.adapter.authenticate(username, password)
    except AdapterError as exc:
        if not isinstance(exc, SourceUnavailable):
            provider.throttle_failure(lockout, context.ip, context=context)
        reason = exc.reason
        if isinstance(exc, InvalidCredentials) and entry.type == "local":  # the audit trail tells them apart
            reason = "wrong_password" if provider.storage.accounts.get_by_username(username) else "unknown_user"
        provider.record("signin", context=context, outcome="failure", username=username, client_id=client_id,
                        adapter=adapter_id, reason=reason)
        error_id = "source_unavailable" if isinstance(exc, SourceUnavailable) else "login_failed"
        status = 503 if error_id == "source_unavailable" else 401
        return _login_page(request, interaction, error_id=error_id, status_code=status)
    if entry.type == "local" and provider.totp is not None and _second_factor_due(provider.totp, identity):
        # First factor done: keep the identity aside until the second factor is shown.
        provider.ephemeral.upsert(MFA_KIND, interaction.id, {
            "identity": identity_record(identity), "adapter_type": entry.type, "username": username,
            "account_id": identity.evidence["account_id"]}, MFA_TTL)
        return RedirectResponse(f"/interaction/{interaction.id}/mfa", status_code=303)
    provider.throttle_success(lockout, context.ip, throttle)
    return finish_login(request, interaction, identity, entry.type, username=username)


def _second_factor_due(totp: TotpService, identity: Identity) -> bool:
    """Whether a local account's sign-in needs its TOTP code: from the adapter's reading of the row
    it just checked (``totp_enrolled``), else read now."""
    account_id = identity.evidence.get("account_id")
    if not account_id:
        return False
    enrolled = identity.evidence.get("totp_enrolled")
    return enrolled if isinstance(enrolled, bool) else totp.is_enrolled(account_id)


def identity_record(identity: Identity) -> dict:
    return {"subject": identity.subject, "adapter_id": identity.adapter_id, "issuer": identity.issuer,
            "auth_time": identity.auth_time, "acr": identity.acr, "amr": list(identity.amr),
            "claims": dict(identity.claims), "evidence": dict(identity.evidence), "roles": list(identity.roles)}


def identity_from_record(record: dict) -> Identity:
    return Identity(**{**record, "amr": tuple(record["amr"]), "roles": tuple(record["roles"])})


def finish_login(request: Request, interaction: Interaction, identity: Identity, adapter_type: str,
                  *, username: str | None = None) -> Response:
    provider = provider_of(request)
    subject_id = subject_for(provider, identity, adapter_type)
    acr = provider.acr_for(identity, adapter_type)
    previous = current_session(request)
    kind = (interaction.prompt or {}).get("kind", "login")
    authz = interaction.request
    policy = provider.policy_for(authz.client_id)
    state = after_sign_in(previous, identity, subject_id, kind=kind, window_seconds=policy.step_up_window_seconds)
    with provider.sessions.writes_deferred():  # the new session is written once, with the client's grant
        session = start_session(provider, identity, subject_id, acr, previous, policy=authentication_json(state))
        if identity.evidence.get("logout"):  # to end the upstream session too when this one ends
            session = session.replace(upstream={"adapter": identity.adapter_id, "logout": identity.evidence["logout"]})
            provider.sessions.save(session)
        # The code this sign-in leads to gets no event of its own (authorize.proceed): this one says
        # what the client's policy releases.
        details = {} if authz.client_id in LANDING_PAGES else release_details(policy, planned_release(policy, authz))
        provider.record("signin", context=audit_context(request, session.id), subject=subject_id, username=username,
                        client_id=authz.client_id, adapter=identity.adapter_id, acr=acr, amr=tuple(identity.amr),
                        details=details)
        # Straight on with the authorization (no redirect through /authorize/resume: one request, and
        # one store write and two reads fewer per sign-in); proceed stores the interaction again only
        # when a further prompt (consent, a second factor) needs it.
        signed_in = interaction.replace(logged_in_at=int(time.time()), session_id=session.id, prompt=None)
        response = proceed(request, signed_in, signed_in=session)
    set_session_cookie(response, provider, session)
    return response
