"""Passkeys and enrolment during a sign-in, and a person's passkeys on ``/account/passkeys``.

Sign-in (the steps are idp.oidc.flow.second_factors'):

- ``GET|POST /interaction/{id}/passkey``: a passkey as the second factor after a password, or the
  whole sign-in from the login page's "sign in with a passkey" (a resident credential);
- ``GET|POST /interaction/{id}/enrol``: the client's policy asks for a second factor the person
  does not have: the page says why and offers a passkey or an authenticator app (its first code is
  posted here); ``POST /interaction/{id}/enrol/passkey`` the new passkey;
  ``POST /interaction/{id}/enrolled`` goes on once the recovery codes were shown.

Account: ``GET /account/passkeys`` lists the person's passkeys (name, registered, last use) with a
button to add one (``POST /account/passkeys``; a person's first second factor comes with ten
recovery codes, shown once); ``POST /account/passkeys/remove`` removes one after a
sign-in at most five minutes old (otherwise the person signs in again first). Every form carries the
CSRF token; only the interaction's own browser and session may take its steps.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from idp.endpoints.common import (
    account_sign_in,
    answer,
    browser_of,
    checked_form,
    current_session,
    flow_of,
    provider_of,
)
from idp.mfa.passkeys import PasskeyError, PasskeyService
from idp.oidc.flow.outcomes import Outcome
from idp.oidc.flow.second_factors import SecondFactorSteps
from idp.oidc.self_service import display_name
from idp.ui.render import render_page
from idp.web.context import audit_context
from idp.web.flow_responses import RequestBrowser
from idp.web.threads import run_blocking

router = APIRouter()
NOTICES = ("account.passkeys.added", "account.passkeys.removed")


def steps_of(request: Request) -> SecondFactorSteps:
    return SecondFactorSteps(flow_of(request))


async def _posted(request: Request,
                  take: Callable[[SecondFactorSteps, RequestBrowser, dict[str, str]], Outcome]) -> Response:
    """A step posted from a page: its form (CSRF checked), then the step off the event loop."""
    form = await checked_form(request)
    return await run_blocking(lambda: answer(request, take(steps_of(request), browser_of(request), form)))


@router.get("/interaction/{interaction_id}/passkey")
def passkey_page(request: Request, interaction_id: str) -> Response:
    return answer(request, steps_of(request).show_passkey(interaction_id, browser_of(request)))


@router.post("/interaction/{interaction_id}/passkey")
async def passkey_submit(request: Request, interaction_id: str) -> Response:
    return await _posted(request, lambda steps, browser, form: steps.after_passkey(
        interaction_id, browser, form.get("credential", "")))


@router.get("/interaction/{interaction_id}/enrol")
def enrol_page(request: Request, interaction_id: str) -> Response:
    return answer(request, steps_of(request).show_enrolment(interaction_id, browser_of(request)))


@router.post("/interaction/{interaction_id}/enrol")
async def enrol_app(request: Request, interaction_id: str) -> Response:
    return await _posted(request, lambda steps, browser, form: steps.after_totp_enrolment(
        interaction_id, browser, form.get("code", "").strip()))


@router.post("/interaction/{interaction_id}/enrol/passkey")
async def enrol_passkey(request: Request, interaction_id: str) -> Response:
    return await _posted(request, lambda steps, browser, form: steps.after_passkey_enrolment(
        interaction_id, browser, form.get("credential", ""), form.get("name", "")))


@router.post("/interaction/{interaction_id}/enrolled")
async def enrolled(request: Request, interaction_id: str) -> Response:
    return await _posted(request, lambda steps, browser, _form: steps.after_enrolled(interaction_id, browser))


# -- /account/passkeys

def _service(request: Request) -> PasskeyService | None:
    return flow_of(request).passkeys


@router.get("/account/passkeys")
def account_passkeys(request: Request) -> Response:
    session = current_session(request)
    service = _service(request)
    if session is None or service is None:
        return RedirectResponse("/account", status_code=303)
    return _page(request, service, notice=request.query_params.get("notice"))


def _page(request: Request, service: PasskeyService, *, notice: str | None = None, error_id: str | None = None,
          status: int = 200) -> Response:
    provider = provider_of(request)
    session = current_session(request)
    assert session is not None
    name = display_name(provider, session)
    options = service.registration_options(f"account:{session.id}", session.subject_id,
                                           session.username or name, name)
    return render_page(request, "account_passkeys.html", {
        "passkeys": [{"id": p.id, "name": p.name, "created_at": p.created_at, "last_used_at": p.last_used_at}
                     for p in service.of(session.subject_id)],
        "options": options, "form_action": "/account/passkeys", "remove_action": "/account/passkeys/remove",
        "notice_id": notice if notice in NOTICES else None, "error_id": error_id}, status_code=status)


@router.post("/account/passkeys")
async def account_add(request: Request) -> Response:
    form = await checked_form(request)
    return await run_blocking(_add, request, form.get("credential", ""), form.get("name", ""))


def _add(request: Request, credential: str, name: str) -> Response:
    session = current_session(request)
    service = _service(request)
    if session is None or service is None:
        return RedirectResponse("/account", status_code=303)
    try:
        service.register(f"account:{session.id}", session.subject_id, credential, name, username=session.username,
                         context=audit_context(request, session.id))
    except PasskeyError:
        return _page(request, service, error_id="passkey_failed", status=400)
    totp = provider_of(request).totp
    codes = totp.ensure_recovery_codes(totp.holder_id(session.subject_id))  # with a first factor: shown once
    if codes:
        return render_page(request, "recovery_codes.html", {"codes": codes})
    return RedirectResponse("/account/passkeys?notice=account.passkeys.added", status_code=303)


@router.post("/account/passkeys/remove")
async def account_remove(request: Request) -> Response:
    form = await checked_form(request)
    return await run_blocking(_remove, request, form.get("passkey_id", ""))


def _remove(request: Request, passkey_id: str) -> Response:
    session = current_session(request)
    service = _service(request)
    if session is None or service is None:
        return RedirectResponse("/account", status_code=303)
    try:
        service.remove(session.subject_id, passkey_id[:64], auth_time=session.auth_time, username=session.username,
                       context=audit_context(request, session.id))
    except PasskeyError as exc:
        if exc.reason == "reauthentication_required":
            return account_sign_in(request, session, again=True)
        return RedirectResponse("/account/passkeys", status_code=303)
    return RedirectResponse("/account/passkeys?notice=account.passkeys.removed", status_code=303)
