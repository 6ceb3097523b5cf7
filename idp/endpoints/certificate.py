"""Certificate sign-in over HTTP (the steps are the flow's: idp/oidc/flow/certificate.py).

- ``GET /interaction/{id}/certificate/{adapter}``: the page with a single-use challenge; its script
  (static/certificate.js) asks the person's local signing tool on loopback to sign it, so the
  page's Content-Security-Policy allows connecting to that tool's origin and nothing else.
- ``POST /interaction/{id}/certificate/{adapter}``: the signature (base64 CMS), CSRF-checked.
- ``POST /interaction/{id}/certificate/{adapter}/remote``: remote signing (a personal ID number to
  start; ``continue`` once the person confirmed in the phone app), CSRF-checked.
- ``GET /interaction/{id}/certificate/{adapter}/remote/status``: ``{"status": "pending"}`` while the
  person has not yet answered in the phone app, then ``{"status": "answered"}``; the waiting page
  polls it and continues by itself.
- ``POST /interaction/{id}/certificate/{adapter}/mtls``: sign in with the client certificate the TLS
  terminator passed in the adapter's ``mtls_header``, read only from ``IDP_TRUSTED_PROXIES``.

Only served when a ``certificate`` adapter is configured (404 otherwise).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.responses import Response

from idp.endpoints.common import answer, browser_of, checked_form, json_response, provider_of
from idp.errors import PageError
from idp.oidc.flow.certificate import CertificateStep
from idp.web.context import from_trusted_proxy
from idp.web.threads import run_blocking

router = APIRouter()


def _step(request: Request) -> CertificateStep:
    step = provider_of(request).certificate
    if step is None:
        raise PageError("not_found", status_code=404)
    return step


def _allow_signing_tool(response: Response, tool_url: str) -> Response:
    """The page's script (a scripted template: idp/ui/render.py) may reach the signing tool
    (loopback, from configuration) and this site (the remote-signing status), nothing else."""
    parts = urlsplit(tool_url)
    policy = response.headers.get("content-security-policy")
    if policy is not None and parts.scheme == "http" and parts.hostname:
        response.headers["content-security-policy"] = (f"{policy}; connect-src 'self' "
                                                       f"{parts.scheme}://{parts.netloc}")
    return response


@router.get("/interaction/{interaction_id}/certificate/{adapter_id}")
async def certificate_page(request: Request, interaction_id: str, adapter_id: str) -> Response:
    step = _step(request)
    outcome = await run_blocking(step.show, interaction_id, browser_of(request), adapter_id)
    response = answer(request, outcome)
    tool = getattr(outcome, "facts", {}).get("signing_tool_url")
    return _allow_signing_tool(response, tool) if isinstance(tool, str) else response


@router.post("/interaction/{interaction_id}/certificate/{adapter_id}/mtls")
async def certificate_mtls(request: Request, interaction_id: str, adapter_id: str) -> Response:
    """The client certificate the TLS terminator passed, believed only from a trusted proxy."""
    step = _step(request)
    await checked_form(request)
    browser = browser_of(request)
    header = await run_blocking(step.mtls_header, interaction_id, browser, adapter_id)
    certificate = request.headers.get(header) if header and from_trusted_proxy(request) else None
    outcome = await run_blocking(step.finish_mtls, interaction_id, browser, adapter_id, certificate)
    response = answer(request, outcome)
    tool = getattr(outcome, "facts", {}).get("signing_tool_url")
    return _allow_signing_tool(response, tool) if isinstance(tool, str) else response


@router.get("/interaction/{interaction_id}/certificate/{adapter_id}/remote/status")
async def certificate_remote_status(request: Request, interaction_id: str, adapter_id: str) -> Response:
    """Whether the person answered the remote signing request yet (the waiting page polls this)."""
    answered = await run_blocking(_step(request).remote_answered, interaction_id, browser_of(request), adapter_id)
    return json_response({"status": "answered" if answered else "pending"})


@router.post("/interaction/{interaction_id}/certificate/{adapter_id}/remote")
async def certificate_remote(request: Request, interaction_id: str, adapter_id: str) -> Response:
    """Remote signing: start (``user_id``: the personal ID number) or, with ``continue``, finish."""
    step = _step(request)
    form = await checked_form(request)
    browser = browser_of(request)
    if form.get("continue"):
        outcome = await run_blocking(step.finish_remote, interaction_id, browser, adapter_id)
    else:
        outcome = await run_blocking(step.start_remote, interaction_id, browser, adapter_id,
                                     form.get("user_id", "")[:64])
    response = answer(request, outcome)
    tool = getattr(outcome, "facts", {}).get("signing_tool_url")
    return _allow_signing_tool(response, tool) if isinstance(tool, str) else response


@router.post("/interaction/{interaction_id}/certificate/{adapter_id}")
async def certificate_signed(request: Request, interaction_id: str, adapter_id: str) -> Response:
    step = _step(request)
    form = await checked_form(request)
    outcome = await run_blocking(step.finish, interaction_id, browser_of(request), adapter_id,
                                 form.get("signature", ""))
    response = answer(request, outcome)
    tool = getattr(outcome, "facts", {}).get("signing_tool_url")
    return _allow_signing_tool(response, tool) if isinstance(tool, str) else response
