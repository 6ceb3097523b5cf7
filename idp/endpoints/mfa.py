"""The second factor of a sign-in: a TOTP code (or a recovery code) after the password, or for a
signed-in person whose client's policy asks for MFA. Failures count in the same throttle as
passwords; a code works once. A locked account is answered as a wrong code (with the unlock hint).
Only the browser and session of the interaction may answer it (idp.endpoints.interaction)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from adapters.base import Identity
from idp.endpoints.common import checked_form, current_session, provider_of
from idp.endpoints.interaction import (
    MFA_KIND,
    MFA_TTL,
    check_session,
    finish_login,
    identity_from_record,
    identity_record,
    pending_interaction,
)
from idp.oidc.interaction import Interaction
from idp.oidc.provider import Provider
from idp.sessions import SsoSession
from idp.ui.render import render_page
from idp.web.context import audit_context
from idp.web.threads import run_blocking

router = APIRouter()


@router.get("/interaction/{interaction_id}/mfa")
def mfa_page(request: Request, interaction_id: str) -> Response:
    provider = provider_of(request)
    interaction = pending_interaction(request, interaction_id)
    session = current_session(request)
    check_session(request, interaction, session)
    if provider.ephemeral.find(MFA_KIND, interaction.id) is None and not _second_factor_for_session(
            provider, session, interaction):
        return RedirectResponse(f"/interaction/{interaction.id}/login", status_code=303)
    return render_page(request, "mfa.html", {"form_action": f"/interaction/{interaction.id}/mfa",
                                             "interaction": interaction.id,
                                             "ui_locales": interaction.request.ui_locales},
                       form_targets=[interaction.request.redirect_uri])


def _second_factor_for_session(provider: Provider, session: SsoSession | None, interaction: Interaction) -> bool:
    """The policy asks a signed-in person for a second factor: prepare it from the session, when
    their local account has one; otherwise the login page offers a stronger sign-in."""
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
    form = await checked_form(request)
    return await run_blocking(_second_factor, request, interaction_id, form.get("code", "").strip())


def _second_factor(request: Request, interaction_id: str, code: str) -> Response:
    provider = provider_of(request)
    interaction = pending_interaction(request, interaction_id)
    check_session(request, interaction, current_session(request))
    pending = provider.ephemeral.find(MFA_KIND, interaction.id)
    if pending is None:
        return RedirectResponse(f"/interaction/{interaction.id}/login", status_code=303)
    context = audit_context(request)
    username, account_id = pending["username"], pending["account_id"]
    throttle = provider.throttle_check(username, context.ip)
    verdict = throttle.reason
    ok = throttle.allowed and code and (provider.totp.verify(account_id, code) or (
        len(code) > 8 and provider.totp.use_recovery_code(account_id, code, context=context)))
    if not ok:
        if verdict is None:
            provider.throttle_failure(username, context.ip, context=context)
        provider.record("signin.mfa", context=context, outcome="failure", username=username,
                        client_id=interaction.request.client_id, reason=verdict or "invalid_code")
        # A hold on the account is answered as a wrong code (the audit trail says which); only the
        # address's own throttle says "too many attempts".
        error_id = "too_many_attempts" if verdict == "ip_locked" else "invalid_code"
        return render_page(request, "mfa.html", {"form_action": f"/interaction/{interaction.id}/mfa",
                                                 "interaction": interaction.id, "error_id": error_id},
                           status_code=429 if error_id == "too_many_attempts" else 401,
                           form_targets=[interaction.request.redirect_uri])
    provider.ephemeral.destroy(MFA_KIND, interaction.id)
    provider.throttle_success(username, context.ip, throttle)
    identity = identity_from_record(pending["identity"])
    identity = Identity(**{**identity.__dict__, "amr": (*identity.amr, "otp", "mfa"),
                           "auth_time": int(time.time())})
    provider.record("signin.mfa", context=context, username=username, client_id=interaction.request.client_id,
                    amr=identity.amr)
    return finish_login(request, interaction, identity, pending["adapter_type"], username=username)
