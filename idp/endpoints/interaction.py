"""The login page of an authorization: ``/interaction/{id}/login`` shows the sources the client may
use; a password form posts back there (idp.oidc.flow ``after_first_factor``). Success starts a new
SSO session and continues the authorization at once. Failures are pages with one message (never
"unknown user" versus "wrong password", nor "locked": a locked account is answered as a wrong
password, and the page tells everyone how to get unlocked).

Every page of an interaction serves only the browser that started it (idp.web.binding) and, once
someone is signed in, only that session (checked by the flow); another browser or session gets the
``interaction_foreign`` page (audited) and nothing is issued.
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from idp.endpoints.common import answer, browser_of, checked_form, flow_of
from idp.web.protocol import DirectRouter
from idp.web.threads import run_blocking

router = DirectRouter()


# The sign-in form skips the framework (idp.web.protocol): both are direct routes.
@router.direct("/interaction/{interaction_id}/login", ["GET"])
async def login_page(request: Request) -> Response:
    interaction_id = request.path_params["interaction_id"]
    return await run_blocking(lambda: answer(request, flow_of(request).show_login(interaction_id,
                                                                                   browser_of(request))))


@router.direct("/interaction/{interaction_id}/login", ["POST"])
async def login_submit(request: Request) -> Response:
    form = await checked_form(request)
    return await run_blocking(_password_login, request, request.path_params["interaction_id"], form)


def _password_login(request: Request, interaction_id: str, form: dict[str, str]) -> Response:
    outcome = flow_of(request).after_first_factor(interaction_id, browser_of(request), form.get("adapter", ""),
                                                  form.get("username", ""), form.get("password", ""))
    return answer(request, outcome)
