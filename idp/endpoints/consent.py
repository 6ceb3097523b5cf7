"""The consent page: what the client will receive (restricted scopes said plainly), remembered per
person, client and scope set; declining ends the request with ``access_denied``; allowing goes on
in the same request (the flow's one continuation: a code, or the next prompt). Only the browser and
the session the interaction belongs to may answer it (checked by the flow, idp.oidc.flow)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from idp.endpoints.common import answer, browser_of, checked_form, flow_of
from idp.web.threads import run_blocking

router = APIRouter()


@router.get("/interaction/{interaction_id}/consent")
def consent_page(request: Request, interaction_id: str) -> Response:
    return answer(request, flow_of(request).show_consent(interaction_id, browser_of(request)))


@router.post("/interaction/{interaction_id}/consent")
async def consent_submit(request: Request, interaction_id: str) -> Response:
    form = await checked_form(request)
    return await run_blocking(_consent_decision, request, interaction_id, form.get("decision"))


def _consent_decision(request: Request, interaction_id: str, decision: str | None) -> Response:
    return answer(request, flow_of(request).after_consent(interaction_id, browser_of(request), decision))
