"""``POST /par``: pushed authorization requests (RFC 9126 §2). Repeated parameters and query
parameters are refused before the request is looked at."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from idp.endpoints.common import client_request_form, json_response, oauth_request, provider_of
from idp.specs.rfc9126_par import push
from idp.web.threads import run_blocking

router = APIRouter()


@router.post("/par")
async def pushed_authorization_request(request: Request) -> Response:
    form = await client_request_form(request)
    provider = provider_of(request)
    plain = oauth_request(request, form)
    body = await run_blocking(push, provider, plain, form)
    return json_response(body, status_code=201)


@router.api_route("/par", methods=["GET", "PUT", "DELETE", "PATCH"], include_in_schema=False)
async def wrong_method(request: Request) -> Response:
    return json_response({"error": "invalid_request", "error_description": "use POST"}, status_code=405,
                         headers={"Allow": "POST"})
