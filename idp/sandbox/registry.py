"""A loopback simulator of a card-verification service of the population registry (the kind the
police's C06 offers eKYC vendors), for tests and the demo.

The real service's API is not public: this shape is the project's own, and the ``registry-check``
adapter (adapters/registry_check) speaks it. ``POST {base}/api/v1/kiem-tra-the`` with
``Authorization: Bearer <api key>`` and JSON ``{"so_dinh_danh", "ho_ten", "ngay_sinh", "ngay_cap"}``
(ISO dates) answers ``{"ma_giao_dich": ..., "ket_qua": "KHOP" | "KHONG_KHOP", "con_hieu_luc": bool}``:
``KHOP`` when a sandbox citizen has that number, name and birth date; ``con_hieu_luc`` false for a
card issued before the one the registry holds (:data:`CURRENT_CARD_ISSUED`, when set for the number).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from datetime import date

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from idp.sandbox.citizens import CITIZENS

CHECK_PATH = "/api/v1/kiem-tra-the"
MAX_BODY = 4096


def build_registry_app(api_key: str, current_card_issued: Mapping[str, date] | None = None) -> Starlette:
    """The simulator; ``current_card_issued``: personal ID number -> issue date of the card the
    registry holds as current (an older card is answered as no longer current)."""
    current = dict(current_card_issued or {})

    async def check(request: Request) -> JSONResponse:
        presented = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
        if not hmac.compare_digest(presented, api_key.encode()):
            return JSONResponse({"loi": "unauthorized"}, status_code=401)
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return JSONResponse({"loi": "too_large"}, status_code=413)
        try:
            body = await request.json()
            number, name = str(body["so_dinh_danh"]), str(body["ho_ten"])
            born, issued = date.fromisoformat(body["ngay_sinh"]), date.fromisoformat(body["ngay_cap"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"loi": "invalid_request"}, status_code=400)
        known = next((c for c in CITIZENS if c.personal_id == number), None)
        match = known is not None and known.full_name == name and known.birthdate == born
        holds = current.get(number)
        return JSONResponse({"ma_giao_dich": secrets.token_hex(8), "ket_qua": "KHOP" if match else "KHONG_KHOP",
                             "con_hieu_luc": bool(match and (holds is None or issued >= holds))})

    return Starlette(routes=[Route(CHECK_PATH, check, methods=["POST"])])
