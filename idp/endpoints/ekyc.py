"""eKYC with the chip ID card over HTTP: the person's chip page and the reader API.

- ``GET /interaction/{id}/chip/{adapter}``: the chip page (an upload token for the reader, as text
  and QR code); ``POST /interaction/{id}/chip``: the person continues once the reader has posted
  (CSRF-checked).
  The steps are the flow's (idp/oidc/flow/chip.py).
- ``GET /api/ekyc/v1/challenge`` (Bearer upload token): the nonce for active authentication.
- ``POST /api/ekyc/v1/reads`` (Bearer upload token, JSON of base64 fields, idp/ekyc/upload.py):
  200 verified, 422 refused with its reason; the token is used up either way.
- ``GET /api/ekyc/v1/openapi.json``: the OpenAPI description of the two (idp/ekyc/openapi.py).
- ``GET /counter/ekyc``: the counter mode (idp/ekyc/counter.py) for an official signed in with
  TOTP or a hardware certificate: a ticket for the counter reader; ``POST`` there with the service
  request's reference: the signed statement of the card read.

Only served when a ``cccd-chip`` adapter is configured (404 otherwise).
"""

from __future__ import annotations

import base64
import json

from fastapi import APIRouter, Request
from starlette.responses import Response

from idp.ekyc.counter import CounterDesk
from idp.ekyc.openapi import openapi_document
from idp.ekyc.service import TicketUnknown
from idp.ekyc.upload import MAX_BODY_BYTES
from idp.endpoints.common import (
    NO_STORE,
    answer,
    browser_of,
    checked_form,
    current_session,
    json_response,
    provider_of,
)
from idp.errors import OAuthError, PageError
from idp.mfa.totp import qr_svg_data_uri
from idp.oidc.flow.chip import ChipStep
from idp.ui.render import render_page
from idp.web.context import audit_context, bounded_body
from idp.web.threads import run_blocking

router = APIRouter()


def _chip_step(request: Request, *, page: bool) -> ChipStep:
    step = provider_of(request).chip
    if step is None:
        if page:
            raise PageError("not_found", status_code=404)
        raise OAuthError("not_found", "no chip ID card verification is configured", status_code=404)
    return step


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 128:
        raise OAuthError("invalid_token", "an upload token is required (Authorization: Bearer)", status_code=401,
                         headers={"WWW-Authenticate": 'Bearer realm="ekyc"'})
    return token.strip()


def _unknown() -> OAuthError:
    return OAuthError("invalid_token", "unknown, used or expired upload token", status_code=401,
                      headers={"WWW-Authenticate": 'Bearer realm="ekyc", error="invalid_token"'})


@router.get("/interaction/{interaction_id}/chip/{adapter_id}")
async def chip_page(request: Request, interaction_id: str, adapter_id: str) -> Response:
    step = _chip_step(request, page=True)
    return await run_blocking(lambda: answer(request, step.show(interaction_id, browser_of(request), adapter_id)))


@router.post("/interaction/{interaction_id}/chip")
async def chip_continue(request: Request, interaction_id: str) -> Response:
    step = _chip_step(request, page=True)
    await checked_form(request)
    return await run_blocking(lambda: answer(request, step.finish(interaction_id, browser_of(request))))


@router.get("/api/ekyc/v1/challenge")
def challenge(request: Request) -> Response:
    verifications = _chip_step(request, page=False).verifications
    try:
        ticket = verifications.ticket(_bearer(request))
        requires = verifications.requirements(ticket)
    except TicketUnknown:
        raise _unknown() from None
    return json_response({"nonce": base64.b64encode(ticket.nonce).decode(), "expires_at": ticket.expires_at,
                          "requires": requires}, headers=NO_STORE)


@router.post("/api/ekyc/v1/reads")
async def reads(request: Request) -> Response:
    verifications = _chip_step(request, page=False).verifications
    token = _bearer(request)
    raw = await bounded_body(request, MAX_BODY_BYTES)
    if raw is None:
        raise OAuthError("invalid_request", f"the body is longer than {MAX_BODY_BYTES} bytes", status_code=413)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise OAuthError("invalid_request", "the body is not JSON") from None
    context = audit_context(request)
    try:
        result = await run_blocking(verifications.submit, token, body, context=context)
    except TicketUnknown:
        raise _unknown() from None
    return json_response(result.body(), status_code=200 if result.verified else 422, headers=NO_STORE)


@router.get("/api/ekyc/v1/openapi.json")
def openapi(request: Request) -> Response:
    _chip_step(request, page=False)
    return json_response(openapi_document(provider_of(request).issuer))


def _counter(request: Request) -> CounterDesk:
    counter = _chip_step(request, page=True).counter
    if counter is None:
        raise PageError("not_found", status_code=404)
    return counter


def _counter_page(request: Request, counter: CounterDesk, *, statement: str | None = None,
                  service_request: str | None = None) -> Response:
    counter_id, ticket, ttl = counter.open(current_session(request))
    reads_url = provider_of(request).issuer + "/api/ekyc/v1/reads"
    return render_page(request, "counter.html", {
        "counter_id": counter_id, "token": ticket.token, "reads_url": reads_url, "expires_in": ttl,
        "qr_data_uri": qr_svg_data_uri(json.dumps({"reads": reads_url, "token": ticket.token})),
        "statement": statement, "service_request": service_request, "form_action": "/counter/ekyc"})


@router.get("/counter/ekyc")
def counter_page(request: Request) -> Response:
    """The official's counter page: a ticket for the counter reader (a signed-in official only)."""
    return _counter_page(request, _counter(request))


@router.post("/counter/ekyc")
async def counter_statement(request: Request) -> Response:
    """The official names the service request; the page shows the signed statement (and a new ticket)."""
    counter = _counter(request)
    form = await checked_form(request)
    reference = form.get("service_request", "")

    def sign() -> Response:
        statement = counter.statement(current_session(request), form.get("counter", ""), reference,
                                      context=audit_context(request))
        return _counter_page(request, counter, statement=statement, service_request=reference.strip())

    return await run_blocking(sign)
