"""Experiment: the framework's floor for a precomputed JSON answer, by endpoint style."""
# mypy: ignore-errors

import os

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = b'{"status":"ok"}'


def create_app():
    mode = os.environ.get("FLOOR_MODE", "sync")
    if mode == "raw":

        async def app(scope, receive, send):
            if scope["type"] != "http":
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")],
                }
            )
            await send({"type": "http.response.body", "body": BODY})

        return app
    if mode == "starlette":

        async def healthz(request):
            return Response(BODY, media_type="application/json")

        return Starlette(routes=[Route("/healthz", healthz)])
    app = FastAPI(
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
        if mode.endswith("-notel")
        else None
    )
    if mode.startswith("sync"):

        @app.get("/healthz")
        def healthz_sync():
            return Response(BODY, media_type="application/json")
    else:

        @app.get("/healthz")
        async def healthz_async():
            return Response(BODY, media_type="application/json")

    return app
