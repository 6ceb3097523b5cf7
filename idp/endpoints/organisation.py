"""The organisation page of a sign-in: a person entitled to act for organisations chooses, for this
authorization, one of them or themselves (idp.oidc.flow.organisations). Only the browser and the
session the interaction belongs to may answer it (checked by the flow); the form carries CSRF."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from idp.endpoints.common import answer, browser_of, checked_form, flow_of
from idp.web.threads import run_blocking

router = APIRouter()


@router.get("/interaction/{interaction_id}/organisation")
def organisation_page(request: Request, interaction_id: str) -> Response:
    return answer(request, flow_of(request).show_organisation(interaction_id, browser_of(request)))


@router.post("/interaction/{interaction_id}/organisation")
async def organisation_choice(request: Request, interaction_id: str) -> Response:
    form = await checked_form(request)
    return await run_blocking(_choice, request, interaction_id, str(form.get("acting_for") or "")[:64])


def _choice(request: Request, interaction_id: str, choice: str) -> Response:
    return answer(request, flow_of(request).after_organisation(interaction_id, browser_of(request), choice))
