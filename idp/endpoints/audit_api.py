"""``GET /audit/events``: search of the audit trail for the auditor role.

Authentication: ``Authorization: Bearer <IDP_AUDIT_API_TOKEN>`` (compared in constant time), or
whatever ``app.state.audit_auditor_check(request) -> str | None`` accepts (the lead wires a check of
the SSO session's account role there: return the auditor's name or None). Without either, every
request is refused. Filters: ``since``/``until`` (ISO), ``subject``, ``username``, ``client_id``,
``ip``, ``type`` (exact or ``prefix.*``), ``outcome``; newest first, ``limit`` up to 500,
``cursor`` from the previous page's ``next_cursor``. Each search is itself recorded
(``admin.action``, ``details.action = "audit.search"``).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.responses import JSONResponse

from idp.audit.query import AuditQuery
from idp.web.context import audit_context as request_audit_context
from idp.web.threads import run_blocking

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


def require_auditor(request: Request) -> str:
    """The auditor's name, or 401 (``WWW-Authenticate: Bearer``) for anyone else."""
    check = getattr(request.app.state, "audit_auditor_check", None)
    if check is not None:
        name = check(request)
        if name:
            return str(name)
    settings = request.app.state.settings
    expected = settings.audit_api_token.get_secret_value() if settings.audit_api_token else None
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if expected and scheme.lower() == "bearer" and presented and len(presented) <= 4096 and hmac.compare_digest(
        _digest(presented.strip()), _digest(expected)
    ):
        return "api-token"
    raise HTTPException(
        status_code=401,
        detail="Cần quyền kiểm toán viên. / The auditor role is required.",
        headers={"WWW-Authenticate": 'Bearer realm="audit"', **NO_STORE},
    )


Auditor = Annotated[str, Depends(require_auditor)]


@router.get("/audit/events", include_in_schema=False)
async def list_events(
    request: Request,
    auditor: Auditor,
    since: datetime | None = None,
    until: datetime | None = None,
    subject: Annotated[str | None, Query(max_length=255)] = None,
    username: Annotated[str | None, Query(max_length=255)] = None,
    client_id: Annotated[str | None, Query(max_length=255)] = None,
    ip: Annotated[str | None, Query(max_length=64)] = None,
    type: Annotated[str | None, Query(max_length=64)] = None,  # noqa: A002 - the API's filter name
    outcome: Literal["success", "failure", "denied"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:
    query = AuditQuery(since=since, until=until, subject=subject, username=username, client_id=client_id,
                       ip=ip, type=type, outcome=outcome)
    return await run_blocking(_search, request, auditor, query, limit, cursor)


def _search(request: Request, auditor: str, query: AuditQuery, limit: int, cursor: str | None) -> JSONResponse:
    try:
        page = request.app.state.provider.audit_search.search(query, limit=limit, cursor=cursor, auditor=auditor,
                                                              context=request_audit_context(request))
    except ValueError:
        return JSONResponse({"error": "invalid_request", "error_description": "invalid cursor"},
                            status_code=400, headers=NO_STORE)
    return JSONResponse({"events": page.events, "next_cursor": page.next_cursor}, headers=NO_STORE)
