"""``idp serve [--host H] [--port P] [--workers N] [--demo]``."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile

from idp.observability import metrics
from idp.observability.logs import configure_logging, logging_config
from idp.pki.trust import load_trust
from idp.runtime import open_storage
from idp.settings import is_loopback_host, load_settings, unknown_setting_names


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = subparsers.add_parser("serve", help="serve the identity provider over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--demo", action="store_true", help="seed a demo relying party and account")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels

    if args.demo:
        os.environ["IDP_DEMO"] = "true"
    if "IDP_ISSUER" not in os.environ and is_loopback_host(args.host):
        # Zero configuration: the issuer is where this process listens (an IPv6 address in brackets).
        host = f"[{args.host}]" if ":" in args.host and not args.host.startswith("[") else args.host
        os.environ["IDP_ISSUER"] = f"http://{host}:{args.port}"
    settings = load_settings()
    configure_logging(settings)  # this process's lines before granian applies the same configuration
    for name in unknown_setting_names():
        logging.getLogger("idp.settings").warning(f"{name} is not a setting of this provider (misspelt?): ignored")
    if args.workers > 1 and settings.redis_url is None:
        raise ValueError("--workers above 1 needs IDP_REDIS_URL: in-process state is not shared")
    # Open once before serving, so a bad database or schema fails here with one line.
    open_storage(settings).close()
    load_trust(settings.trust_file)  # likewise a broken certificate trust file (file, line, field)
    metrics_dir = None
    if settings.metrics_port is not None:
        # Before any worker starts: each writes its metrics under this folder, summed by this process.
        metrics_dir = tempfile.mkdtemp(prefix="idp-metrics-")
        metrics.prepare_multiprocess(metrics_dir)
        try:
            metrics.serve_metrics(settings.metrics_host, settings.metrics_port)
        except ValueError:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            raise
    # Granian (Rust HTTP, uvloop): measured best of the servers tried, bench/PROFILE.md §2. It
    # reads no proxy headers (it has no such option): the ASGI scope's client is the connection's
    # address, and idp.web.context alone reads X-Forwarded-For, from IDP_TRUSTED_PROXIES only.
    # (Served by uvicorn instead, pass --no-proxy-headers: its default rewrites the client from the
    # left-most X-Forwarded-For of a loopback connection.)
    server = Granian(
        "idp.app:create_app",
        factory=True,
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
        loop=Loops.uvloop,
        log_level=LogLevels(settings.log_level),
        log_dictconfig=logging_config(settings),  # applied here and in every worker
        log_access=settings.access_log,
        websockets=False,
    )
    try:
        server.serve()
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0
