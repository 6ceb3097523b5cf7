"""``/account``: the signed-in person's page: the services they allowed (revocable) and, from the
audit trail, their own recent sign-ins.

"The services they allowed" are every client the person consented to and every client that holds
a grant of theirs (refresh tokens), so nothing issued for them stays out of their sight; withdrawing
ends the consent and revokes the client's grants together."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from idp.endpoints.common import (
    account_sign_in,
    checked_form,
    clear_session_cookie,
    current_session,
    json_response,
    provider_of,
)
from idp.mfa.totp import ReauthenticationRequired, TotpError
from idp.oidc import personal_data
from idp.oidc.self_service import display_name, services, signin_history, withdraw
from idp.ui.render import render_page
from idp.web.context import audit_context
from idp.web.threads import run_blocking

router = APIRouter()
#: Where a person sent to sign in again before an erasure comes back to confirm it.
ERASURE_CONFIRMATION = "/account/data?erase=confirm"


@router.get("/account")
def account(request: Request) -> Response:
    provider = provider_of(request)
    session = current_session(request)
    if session is None:
        return account_sign_in(request, None)
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
        return account_sign_in(request, session, again=True)
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


# -- personal-data rights (idp.oidc.personal_data): see, download, erase


@router.get("/account/data")
def personal_data_page(request: Request) -> Response:
    """What the provider holds about the person, readable (``?download=html``: as a file)."""
    provider = provider_of(request)
    session = current_session(request)
    if session is None:
        return RedirectResponse("/account", status_code=303)
    download = request.query_params.get("download") == "html"
    data = personal_data.held(provider, session.subject_id)
    personal_data.record_export(provider, session.subject_id, "html", audit_context(request, session.id))
    response = render_page(request, "personal_data.html", {
        "data": data, "json_url": "/account/data.json", "erase_action": "/account/erase",
        "confirm_erasure": request.query_params.get("erase") == "confirm"})
    if download:
        response.headers["Content-Disposition"] = 'attachment; filename="du-lieu-ca-nhan.html"'
    return response


@router.get("/account/data.json")
def personal_data_json(request: Request) -> Response:
    provider = provider_of(request)
    session = current_session(request)
    if session is None:
        return json_response({"error": "login_required"}, status_code=401)
    data = personal_data.held(provider, session.subject_id)
    personal_data.record_export(provider, session.subject_id, "json", audit_context(request, session.id))
    return json_response(data, headers={"Content-Disposition": 'attachment; filename="du-lieu-ca-nhan.json"'})


@router.post("/account/erase")
async def erase(request: Request) -> Response:
    form = await checked_form(request)
    return await run_blocking(_erase, request, form.get("confirm") == "erase")


def _erase(request: Request, confirmed: bool) -> Response:
    provider = provider_of(request)
    session = current_session(request)
    if session is None:
        return RedirectResponse("/account", status_code=303)
    if not confirmed:
        return RedirectResponse("/account/data", status_code=303)
    if not personal_data.signed_in_recently(session):  # sign in again, then back to the confirmation
        return account_sign_in(request, session, again=True, landing=ERASURE_CONFIRMATION)
    personal_data.erase(provider, session.subject_id, audit_context(request, session.id))
    response = render_page(request, "erased.html", {})
    clear_session_cookie(response, provider)
    return response
