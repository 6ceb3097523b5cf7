"""``/account``: the signed-in person's page: the services they allowed (revocable) and, from the
audit trail, their own recent sign-ins.

"The services they allowed" are every client the person consented to and every client that holds
a grant of theirs (refresh tokens), so nothing issued for them stays out of their sight; withdrawing
ends the consent and revokes the client's grants together."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from idp.endpoints.common import checked_form, current_session, provider_of
from idp.endpoints.interaction import begin_interaction
from idp.endpoints.internal_clients import account_request
from idp.mfa.totp import ReauthenticationRequired, TotpError
from idp.oidc.provider import Provider
from idp.ui.render import render_page
from idp.web.context import audit_context
from idp.web.threads import run_blocking

router = APIRouter()


@router.get("/account")
def account(request: Request) -> Response:
    provider = provider_of(request)
    session = current_session(request)
    if session is None:
        return begin_interaction(request, account_request(provider), None, step="login")
    subject = provider.storage.subjects.get(session.subject_id)
    claims = subject.claims if subject else {}
    return render_page(request, "account.html", {
        "user_name": claims.get("name") or session.username or "", "grants": _services(provider, session.subject_id),
        "recent_signins": provider.recent_signins(session.subject_id), "logout_action": "/logout",
        "totp_enroll_url": "/account/totp" if provider.storage.accounts.get_by_subject(session.subject_id) else None,
        "notice_id": request.query_params.get("notice") if request.query_params.get("notice") in (
            "account.revoked",) else None,
    })


def _services(provider: Provider, subject_id: str) -> list[dict[str, Any]]:
    """One entry per client the person consented to or whose grant (refresh tokens) is active:
    the scopes of both, and when it was first allowed."""
    services: dict[str, dict[str, Any]] = {}
    for consent in provider.storage.consents.list_for_subject(subject_id):
        services[consent.client_id] = {"scopes": set(consent.scopes), "granted_at": consent.granted_at}
    for grant in provider.storage.grants.list_active_for_subject(subject_id):
        entry = services.setdefault(grant.client_id, {"scopes": set(), "granted_at": grant.created_at})
        entry["scopes"] |= set(grant.scopes)
    listed = []
    for client_id, entry in services.items():
        client = provider.find_client(client_id)
        listed.append({"client_id": client_id, "client_name": client.name if client else client_id,
                       "scopes": sorted(entry["scopes"]), "granted_at": entry["granted_at"],
                       "revoke_action": "/account/revoke"})
    return listed


@router.post("/account/revoke")
async def revoke(request: Request) -> Response:
    form = await checked_form(request)
    return await run_blocking(_revoke, request, form.get("client_id", ""))


def _revoke(request: Request, client_id: str) -> Response:
    provider = provider_of(request)
    session = current_session(request)
    if session is None:
        return RedirectResponse("/account", status_code=303)
    with provider.storage.db.transaction():
        withdrawn = provider.storage.consents.withdraw(session.subject_id, client_id)
        revoked = [grant.id for grant in provider.storage.grants.list_active_for_subject(session.subject_id)
                   if grant.client_id == client_id]
        for grant_id in revoked:
            provider.revoke_grant(grant_id, "consent_withdrawn")
        if withdrawn or revoked:
            provider.record("consent.withdrawn", context=audit_context(request, session.id),
                            subject=session.subject_id, client_id=client_id)
    return RedirectResponse("/account?notice=account.revoked", status_code=303)


@router.get("/account/totp")
def totp_enrol(request: Request) -> Response:
    """Turn on two-step verification: a fresh secret as a QR code (needs a recent sign-in to replace one)."""
    provider = provider_of(request)
    session = current_session(request)
    account = provider.storage.accounts.get_by_subject(session.subject_id) if session else None
    if session is None or account is None or provider.totp is None:
        return RedirectResponse("/account", status_code=303)
    try:
        enrolment = provider.totp.begin_enrolment(account.id, auth_time=session.auth_time)
    except ReauthenticationRequired:
        return begin_interaction(request, account_request(provider, prompt=("login",)), session, step="login")
    return render_page(request, "totp_enroll.html", {
        "qr_data_uri": enrolment.qr_data_uri, "secret": enrolment.secret, "form_action": "/account/totp"})


@router.post("/account/totp")
async def totp_confirm(request: Request) -> Response:
    form = await checked_form(request)
    return await run_blocking(_confirm_totp, request, form.get("code", "").strip())


def _confirm_totp(request: Request, code: str) -> Response:
    provider = provider_of(request)
    session = current_session(request)
    account = provider.storage.accounts.get_by_subject(session.subject_id) if session else None
    if session is None or account is None:
        return RedirectResponse("/account", status_code=303)
    try:
        codes = provider.totp.confirm_enrolment(account.id, code, context=audit_context(request, session.id))
    except TotpError:
        return render_page(request, "error.html", {"message_id": "invalid_code", "back_url": "/account/totp"},
                           status_code=400)
    return render_page(request, "recovery_codes.html", {"codes": codes})
