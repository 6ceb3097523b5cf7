"""The signature verification service: ``POST /signatures/verify`` for relying parties and the
page ``GET|POST /signatures`` for people (:mod:`idp.pki.documents` does the work).

``/signatures/verify`` takes an access token with the ``signatures:verify`` scope (a client's own
token, client_credentials) as ``Authorization: Bearer``; DPoP-bound tokens are refused here. The
body is the signed document itself (``Content-Type`` ``application/pdf``,
``application/pkcs7-signature``, ``application/xml`` ... or ``application/octet-stream``), or JSON
``{"document": base64, "content": base64?, "format": "pdf"|"cms"|"xml"?}`` (``content`` is what
a detached CMS signature signs). The answer is the report as JSON (a signer the client already
knows carries the client's ``sub`` for them: idp/pki/identities.py); a document that cannot be
verified gets 400 (413 too large, 422 over the time limit) with ``error`` and ``error_description``;
429 when every verification slot of the process is busy, 503 when no verification can be started.

The page needs a signed-in person (the audit trail names who asked) and answers the same report in
plain words; the document is read into memory, verified and dropped: nothing is kept.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from idp.endpoints.common import current_session, json_response, provider_of
from idp.pki.documents import FORMATS, SignatureVerifier
from idp.pki.report import DocumentRejected, DocumentReport, status_text
from idp.ui.render import locale_for, render_page
from idp.web.context import audit_context, bounded_body
from idp.web.csrf import check_csrf
from keys.errors import InvalidToken

SCOPE = "signatures:verify"
JSON_OVERHEAD = 64 * 1024  # base64 grows a document by a third; field names and the optional content

router = APIRouter()


def _verifier(request: Request) -> SignatureVerifier:
    verifier = provider_of(request).signatures
    if verifier is None:  # a provider composed without the service (the compose step always builds one)
        raise DocumentRejected("unavailable", "signature verification is not configured", status_code=404)
    return verifier


def _challenge(error: str, description: str, status: int) -> Response:
    header = f'Bearer realm="signatures", error="{error}", error_description="{description}"'
    if error == "invalid_request" and status == 401:
        header = 'Bearer realm="signatures"'
    return json_response({"error": error, "error_description": description}, status_code=status,
                         headers={"WWW-Authenticate": header})


def _refusal(exc: DocumentRejected) -> Response:
    return json_response({"error": exc.reason, "error_description": exc.message}, status_code=exc.status_code)


@router.post("/signatures/verify")
async def verify(request: Request) -> Response:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if not token.strip() or scheme.lower() != "bearer":
        return _challenge("invalid_request", "an access token with the signatures:verify scope is required", 401)
    try:
        info = await provider_of(request).tokens.check_access_token_on_loop(token.strip())
    except InvalidToken:
        return _challenge("invalid_token", "the access token is invalid, expired or revoked", 401)
    if info.cnf:
        return _challenge("invalid_token", "DPoP-bound access tokens are not accepted here", 401)
    if SCOPE not in info.scopes or info.subject_id is not None:
        return _challenge("insufficient_scope", "the token was not issued to a client for signatures:verify", 403)
    verifier = _verifier(request)
    body = await bounded_body(request, verifier.max_bytes * 4 // 3 + JSON_OVERHEAD)
    if body is None:
        return _refusal(DocumentRejected("too_large", f"documents are limited to {verifier.max_bytes} bytes",
                                         status_code=413))
    try:
        document, content, kind = _parse_body(request.headers.get("content-type") or "", body)
        report = await verifier.verify(document, content=content, format=kind, requester=info.client_id,
                                       context=audit_context(request), known_to=info.client_id)
    except DocumentRejected as exc:
        return _refusal(exc)
    return json_response(report.as_dict())


def _parse_body(content_type: str, body: bytes) -> tuple[bytes, bytes | None, Any]:
    if content_type.split(";")[0].strip().lower() != "application/json":
        return body, None, None
    try:
        fields = json.loads(body)
    except (ValueError, RecursionError):
        raise DocumentRejected("invalid_request", "the JSON body cannot be read") from None
    if not isinstance(fields, dict) or not isinstance(fields.get("document"), str):
        raise DocumentRejected("invalid_request", "the JSON body needs a base64 \"document\"")
    unknown = set(fields) - {"document", "content", "format"}
    if unknown:
        raise DocumentRejected("invalid_request", f"unknown field {sorted(unknown)[0]!r}")
    kind = fields.get("format")
    if kind is not None and kind not in FORMATS:
        raise DocumentRejected("invalid_request", f"format is one of {', '.join(FORMATS)}")
    content = fields.get("content")
    if content is not None and not isinstance(content, str):
        raise DocumentRejected("invalid_request", "content is base64 text")
    return _b64(fields["document"]), _b64(content) if content is not None else None, kind


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DocumentRejected("invalid_request", "not base64") from None


@router.get("/signatures")
def page(request: Request) -> Response:
    if current_session(request) is None:
        return RedirectResponse("/account", status_code=303)
    return render_page(request, "signatures.html", {})


@router.post("/signatures")
async def page_verify(request: Request) -> Response:
    session = current_session(request)
    if session is None:
        return RedirectResponse("/account", status_code=303)
    verifier = _verifier(request)
    body = await bounded_body(request, 2 * verifier.max_bytes + JSON_OVERHEAD)
    if body is None:
        return render_page(request, "signatures.html", {"error_id": "signatures.error.too_large"}, status_code=413)
    form = await _multipart(request, body)
    check_csrf(request, form)
    document, content = form.get("document"), form.get("content")
    if not isinstance(document, bytes) or not document:
        return render_page(request, "signatures.html", {"error_id": "signatures.error.no_document"}, status_code=400)
    detached = content if isinstance(content, bytes) and content else None
    try:
        report = await verifier.verify(document, content=detached, requester=f"person:{session.subject_id}",
                                       context=audit_context(request))
    except DocumentRejected as exc:
        return render_page(request, "signatures.html", {"error_id": f"signatures.error.{_page_reason(exc)}"},
                           status_code=exc.status_code)
    return render_page(request, "signatures.html", {"report": _plain(report, locale_for(request))})


PAGE_REASONS = frozenset({"too_large", "malformed", "unsupported", "dtd_refused", "time_limit", "content_missing",
                          "no_signature", "busy"})


def _page_reason(exc: DocumentRejected) -> str:
    if exc.reason == "unavailable":  # no verification could be started: as busy, try again shortly
        return "busy"
    return exc.reason if exc.reason in PAGE_REASONS else "malformed"


async def _multipart(request: Request, body: bytes) -> dict[str, Any]:
    """The fields of an already-read (bounded) multipart body, uploads read into bytes."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    again = Request(request.scope, replay)
    try:
        form = await again.form(max_files=2, max_fields=4)
    except Exception:  # noqa: BLE001 - a malformed multipart body is the browser's problem: a 400 page
        return {}
    try:
        return {key: (await value.read() if isinstance(value, UploadFile) else value) for key, value in form.items()}
    finally:
        await form.close()


def _plain(report: DocumentReport, locale: str) -> dict[str, Any]:
    """The report as the page shows it (each status in plain words)."""
    signatures = []
    for signature in report.signatures:
        signer = signature.signer
        signatures.append({
            "index": signature.index + 1, "verdict": signature.verdict, "intact": signature.intact,
            "coverage": signature.coverage, "signing_time": signature.signing_time,
            "timestamp": signature.timestamp, "ltv": signature.ltv_material,
            "signer": signer.subject if signer else None, "issuer": signer.issuer if signer else None,
            "status": signer.status if signer else "malformed",
            "status_text": status_text(signer.status if signer else "malformed", locale),
            "revocation": signer.revocation_source if signer else "none",
            "revocation_time": signer.revocation_checked_at if signer else None,
        })
    return {"format": report.format, "sha256": report.sha256, "outcome": report.outcome, "signatures": signatures}
