"""The HTTP side of the sign-in flow: a step's outcome (idp.oidc.flow) as a response, and the
browser in hand as the flow sees it.

- :class:`~idp.oidc.flow.IssueCode` and :class:`~idp.oidc.flow.Deny`: the authorization response
  with ``iss`` (RFC 9207 §2), by redirect or an auto-submitted form (Form Post Response Mode);
- :class:`~idp.oidc.flow.Prompt`: a 303 to the interaction's page (or ``/authorize/resume/{id}``);
- :class:`~idp.oidc.flow.ShowPage`: the page itself (``login.html``, ``mfa.html``, ``consent.html``);
- :class:`~idp.oidc.flow.Upstream`: a 303 to the upstream.

Every response carries the cookie of a binding key made in this request (idp.web.binding), and of
a session the step started.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.audit.events import AuditContext
from idp.oidc.flow import Deny, IssueCode, Outcome, Prompt, ShowPage, Upstream
from idp.sessions import SsoSession
from idp.specs.authorization_request import RedirectableError
from idp.ui.render import form_post_page, render_page
from idp.web.binding import attach, browser_key, from_this_browser
from idp.web.context import audit_context


class RequestBrowser:
    """The browser of ``request`` (:class:`idp.oidc.flow.Browser`); ``read_session`` reads its SSO
    session, once, when a step asks for it."""

    def __init__(self, request: Request, read_session: Callable[[Request], SsoSession | None]) -> None:
        self.request = request
        self._read_session = read_session
        self._session: SsoSession | None = None
        self._session_read = False

    def key(self) -> str:
        return browser_key(self.request)

    def owns(self, key: str | None) -> bool:
        return from_this_browser(self.request, key)

    def session(self) -> SsoSession | None:
        if not self._session_read:
            self._session, self._session_read = self._read_session(self.request), True
        return self._session

    def context(self, session_id: str | None = None) -> AuditContext:
        return audit_context(self.request, session_id)


def respond_to_client(request: Request, issuer: str, redirect_uri: str, params: dict[str, str | None],
                      response_mode: str) -> Response:
    """The authorization response (or error response) with ``iss`` added (RFC 9207 §2)."""
    values = {k: v for k, v in params.items() if v is not None}
    values["iss"] = issuer
    if response_mode == "form_post":
        return form_post_page(request, redirect_uri, values)
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(redirect_uri + separator + urlencode(values), status_code=302,
                            headers={"Cache-Control": "no-store"})


def error_to_client(request: Request, issuer: str, error: RedirectableError) -> Response:
    params = {"error": error.error, "error_description": error.description, "state": error.state}
    return respond_to_client(request, issuer, error.redirect_uri, params, error.response_mode)


def page_url(outcome: Prompt) -> str:
    """Where a prompt sends the browser."""
    interaction_id = outcome.interaction.id
    if outcome.page == "resume":
        return f"/authorize/resume/{interaction_id}"
    return f"/interaction/{interaction_id}/{outcome.page}"


def respond(request: Request, issuer: str, outcome: Outcome) -> Response:
    """The response for a step's outcome (without the cookie of a session it started: the caller
    sets it, see :attr:`Outcome.session`)."""
    if isinstance(outcome, IssueCode):
        authz = outcome.request
        if outcome.landing is not None:
            return RedirectResponse(outcome.landing, status_code=303)
        return respond_to_client(request, issuer, authz.redirect_uri, {"code": outcome.code, "state": authz.state},
                                 authz.response_mode)
    if isinstance(outcome, Deny):
        authz = outcome.request
        return error_to_client(request, issuer, RedirectableError(
            outcome.error, outcome.description, redirect_uri=authz.redirect_uri, state=authz.state,
            response_mode=authz.response_mode))
    if isinstance(outcome, Prompt):
        return attach(request, RedirectResponse(page_url(outcome), status_code=303))
    if isinstance(outcome, Upstream):
        return RedirectResponse(outcome.url, status_code=303)
    return show_page(request, outcome)


def show_page(request: Request, outcome: ShowPage) -> Response:
    """A page of the interaction; after its form, a redirect may go straight to the client (CSP
    form-action covers redirects)."""
    interaction = outcome.interaction
    authz = interaction.request
    url = f"/interaction/{interaction.id}/{outcome.page}"
    context = {**outcome.facts, "form_action": url, "interaction": interaction.id, "ui_locales": authz.ui_locales,
               "page_url": url, "error_id": outcome.error_id}
    if outcome.page == "login":
        context["login_hint"] = authz.login_hint
        for source in context["adapters"]:
            # idp/endpoints/ekyc.py, certificate.py, upstream.py
            step = source["kind"] if source["kind"] in ("chip", "certificate") else "upstream"
            source["start_url"] = f"/interaction/{interaction.id}/{step}/{source['id']}"
    return render_page(request, f"{outcome.page}.html", context, status_code=outcome.status,
                       form_targets=[authz.redirect_uri])
