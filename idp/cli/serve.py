"""``idp serve [--host H] [--port P] [--workers N] [--demo]``."""

from __future__ import annotations

import argparse
import os

from idp.runtime import open_storage
from idp.settings import is_loopback_host, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="serve the identity provider over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--demo", action="store_true", help="seed a demo relying party and account")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    if args.demo:
        os.environ["IDP_DEMO"] = "true"
    if "IDP_ISSUER" not in os.environ and is_loopback_host(args.host):
        # Zero configuration: the issuer is where this process listens.
        os.environ["IDP_ISSUER"] = f"http://{args.host}:{args.port}"
    settings = load_settings()
    if args.workers > 1 and settings.redis_url is None:
        raise ValueError("--workers above 1 needs IDP_REDIS_URL: in-process state is not shared")
    # Open once before serving, so a bad database or schema fails here with one line.
    open_storage(settings).close()
    uvicorn.run(
        "idp.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=settings.trust_forwarded_for,
        server_header=False,
        log_level="info",
        access_log=settings.access_log,
    )
    return 0
