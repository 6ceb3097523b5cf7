"""Sign-in at an upstream (national e-ID, another OIDC provider): the button on the login page
goes to ``/interaction/{id}/upstream/{adapter}``; the upstream answers at ``/callback/{adapter}``.
State (the upstream's ``state``, nonce and PKCE verifier) is kept under the upstream ``state`` value
with the key of the browser that started the sign-in (idp.web.binding), and consumed once (a
replayed callback fails). A callback in any other browser is refused (audited: ``signin`` denied,
``foreign_browser``) before anything is asked of the upstream, and leaves that browser's session as
it was: a link to someone else's upstream answer cannot sign a victim in as that someone (login
CSRF). The steps are the flow's (idp.oidc.flow ``start_upstream``, ``after_upstream``).

An answer below the level the service needs ends on ``/interaction/{id}/level_unmet`` (which level
is needed and how to reach it); its form goes back to the service, which gets
``unmet_authentication_requirements`` (idp.oidc.flow.levels)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from adapters.base import RequestData
from idp.endpoints.common import answer, browser_of, checked_form, flow_of
from idp.web.threads import run_blocking

router = APIRouter()


@router.get("/interaction/{interaction_id}/upstream/{adapter_id}")
def upstream_start(request: Request, interaction_id: str, adapter_id: str) -> Response:
    return answer(request, flow_of(request).start_upstream(interaction_id, browser_of(request), adapter_id))


@router.get("/callback/{adapter_id}")
def upstream_callback(request: Request, adapter_id: str) -> Response:
    browser = browser_of(request)
    data = RequestData(query=dict(request.query_params), headers=dict(request.headers), client_ip=browser.context().ip)
    state = request.query_params.get("state", "")
    return answer(request, flow_of(request).after_upstream(adapter_id, state, browser, data))


@router.get("/interaction/{interaction_id}/level_unmet")
def level_unmet_page(request: Request, interaction_id: str) -> Response:
    return answer(request, flow_of(request).show_level_unmet(interaction_id, browser_of(request)))


@router.post("/interaction/{interaction_id}/level_unmet")
async def level_unmet_leave(request: Request, interaction_id: str) -> Response:
    await checked_form(request)
    return await run_blocking(lambda: answer(request, flow_of(request).leave_level_unmet(interaction_id,
                                                                                         browser_of(request))))
