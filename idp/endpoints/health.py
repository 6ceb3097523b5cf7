"""``/healthz`` (the process answers) and ``/readyz`` (database and short-lived store reachable)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    down = request.app.state.runtime.unreachable()
    status = 503 if down else 200
    body = {"status": "unavailable" if down else "ok", "down": down}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
