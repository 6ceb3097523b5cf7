"""``/account``: the signed-in person's page: the services they allowed (revocable) and, from the
audit trail, their own recent sign-ins.

"The services they allowed" are every client the person consented to and every client that holds
a grant of theirs (refresh tokens), so nothing issued for them stays out of their sight; withdrawing
ends the consent and revokes the client's grants together."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from idp.endpoints.common import answer, browser_of, checked_form, current_session, flow_of, provider_of
from idp.mfa.totp import ReauthenticationRequired, TotpError
from idp.oidc.internal_clients import account_request
from idp.oidc.self_service import display_name, services, signin_history, withdraw
from idp.ui.render import render_page
from idp.web.context import audit_context
from idp.web.threads import run_blocking

router = APIRouter()


@router.get("/account")
def account(request: Request) -> Response:
    provider = provider_of(request)
    session = current_session(request)
    if session is None:
        return answer(request, flow_of(request).own_page(account_request(provider.issuer), browser_of(request), None,
                                                         page="login"))
    return render_page(request, "account.html", {
        "user_name": display_name(provider, session),
        "grants": [{**entry, "revoke_action": "/account/revoke"} for entry in services(provider, session.subject_id)],
        "recent_signins": signin_history(provider, session.subject_id), "logout_action": "/logout",
        "totp_enroll_url": "/account/totp",  # everyone holds their own factors (idp/mfa/holders.py)
        "notice_id": request.query_params.get("notice") if request.query_params.get("notice") in (
            "account.revoked",) else None,
    })


@router.post("/account/revoke")
async def revoke(request: Request) -> Response:
    form = await checked_form(request)
    return await run_blocking(_revoke, request, form.get("client_id", ""))


def _revoke(request: Request, client_id: str) -> Response:
    session = current_session(request)
    if session is None:
        return RedirectResponse("/account", status_code=303)
    withdraw(provider_of(request), session, client_id, audit_context(request, session.id))
    return RedirectResponse("/account?notice=account.revoked", status_code=303)


@router.get("/account/totp")
def totp_enrol(request: Request) -> Response:
    """Turn on two-step verification: a fresh secret as a QR code (needs a recent sign-in to replace one)."""
    provider = provider_of(request)
    session = current_session(request)
    if session is None or provider.totp is None:
        return RedirectResponse("/account", status_code=303)
    try:
        enrolment = provider.totp.begin_enrolment(provider.totp.holder_id(session.subject_id),
                                                  auth_time=session.auth_time, label=session.username or "")
    except ReauthenticationRequired:
        return answer(request, flow_of(request).own_page(account_request(provider.issuer, prompt=("login",)),
                                                         browser_of(request), session, page="login"))
    return render_page(request, "totp_enroll.html", {
        "qr_data_uri": enrolment.qr_data_uri, "secret": enrolment.secret, "form_action": "/account/totp"})


@router.post("/account/totp")
async def totp_confirm(request: Request) -> Response:
    form = await checked_form(request)
    return await run_blocking(_confirm_totp, request, form.get("code", "").strip())


def _confirm_totp(request: Request, code: str) -> Response:
    provider = provider_of(request)
    session = current_session(request)
    if session is None:
        return RedirectResponse("/account", status_code=303)
    try:
        codes = provider.totp.confirm_enrolment(provider.totp.holder_id(session.subject_id), code,
                                                context=audit_context(request, session.id))
    except TotpError:
        return render_page(request, "error.html", {"message_id": "invalid_code", "back_url": "/account/totp"},
                           status_code=400)
    return render_page(request, "recovery_codes.html", {"codes": codes})
