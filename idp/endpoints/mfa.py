"""The second factor of a sign-in: a TOTP code (or a recovery code) after the password, or for a
signed-in person whose client's policy asks for MFA. Failures count in the same throttle as
passwords; a code works once. A locked account is answered as a wrong code (with the unlock hint).
Only the browser and session of the interaction may answer it. The steps are the flow's
(idp.oidc.flow ``show_mfa``, ``after_second_factor``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from idp.endpoints.common import answer, browser_of, checked_form, flow_of
from idp.web.threads import run_blocking

router = APIRouter()


@router.get("/interaction/{interaction_id}/mfa")
def mfa_page(request: Request, interaction_id: str) -> Response:
    return answer(request, flow_of(request).show_mfa(interaction_id, browser_of(request)))


@router.post("/interaction/{interaction_id}/mfa")
async def mfa_submit(request: Request, interaction_id: str) -> Response:
    form = await checked_form(request)
    return await run_blocking(_second_factor, request, interaction_id, form.get("code", "").strip())


def _second_factor(request: Request, interaction_id: str, code: str) -> Response:
    return answer(request, flow_of(request).after_second_factor(interaction_id, browser_of(request), code))
