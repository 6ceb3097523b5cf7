"""Serving the simulators on loopback: in a thread (tests, the demo) or in the foreground (CLI).

The listening socket is bound before the app is built, so the issuer URLs (which contain the
port) are known up front and no port is ever raced for.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from idp.sandbox.provider import SandboxClient, SandboxProvider
from idp.sandbox.registry import build_registry_app
from idp.sandbox.routes import build_app
from idp.sandbox.shapes import dvcqg_shape, vneid_shape
from idp.settings import is_loopback_host

if TYPE_CHECKING:  # remote_signing serves itself with this module's LoopbackServer
    from idp.sandbox.remote_signing import RemoteSigningService

DEMO_CLIENT = SandboxClient("vn-idp-sandbox", "sandbox-secret-not-for-production")


def bind_loopback(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket on a loopback address (refuses anything else)."""
    if not is_loopback_host(host):
        raise ValueError("the sandbox listens on loopback only")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    return sock


class LoopbackServer:
    """uvicorn serving ``app`` on an already bound loopback socket, in a background thread."""

    def __init__(self, sock: socket.socket, app: Any) -> None:
        self.sock = sock
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def start(self, wait: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + wait
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()


@dataclass
class NationalSandbox:
    """Both simulators on one loopback port: VNeID under ``/vneid``, the portal under ``/dvcqg``;
    and the population registry's card-verification service under ``/c06`` (idp/sandbox/registry.py)."""

    vneid: SandboxProvider
    dvcqg: SandboxProvider
    base_url: str
    registry_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    remote_signing: RemoteSigningService | None = None  # under /remote-signing (``idp sandbox serve``)
    _server: LoopbackServer | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        sock: socket.socket,
        clients: list[SandboxClient] | None = None,
        *,
        public_host: str | None = None,
    ) -> NationalSandbox:
        host, port = sock.getsockname()[:2]
        base = f"http://{public_host or (f'[{host}]' if ':' in host else host)}:{port}"
        registered = {c.client_id: c for c in (clients or [DEMO_CLIENT])}
        return cls(
            vneid=SandboxProvider(vneid_shape(), base + "/vneid", dict(registered)),
            dvcqg=SandboxProvider(dvcqg_shape(), base + "/dvcqg", dict(registered)),
            base_url=base,
        )

    @classmethod
    def start(
        cls, clients: list[SandboxClient] | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> NationalSandbox:
        """Serve both simulators in a background thread; call :meth:`stop` when done."""
        sock = bind_loopback(host, port)
        sandbox = cls.build(sock, clients)
        sandbox._server = LoopbackServer(sock, sandbox.app())
        sandbox._server.start()
        return sandbox

    def app(self) -> Starlette:
        routes = [Mount("/vneid", app=build_app(self.vneid)), Mount("/dvcqg", app=build_app(self.dvcqg)),
                  Mount("/c06", app=build_registry_app(self.registry_key))]
        if self.remote_signing is not None:
            self.remote_signing.base_url = self.base_url + "/remote-signing"
            routes.append(Mount("/remote-signing", app=self.remote_signing.app()))
        return Starlette(routes=routes)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> NationalSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def adapter_configs(self, client: SandboxClient = DEMO_CLIENT, **overrides: Any) -> list[dict[str, Any]]:
        """Entries for the adapters file that point at this sandbox (the demo writes these)."""
        common = {"client_id": client.client_id, "client_secret": client.client_secret, "version": 1, **overrides}
        entries = [
            {"id": "vneid", "type": "vneid", "display_name": {"vi": "VNeID", "en": "VNeID"},
             "base_url": self.vneid.base_url,
             "account_types": {"organization": "organization"},  # the sandbox's organisation accounts
             **common},
            {"id": "dvcqg", "type": "dvcqg",
             "display_name": {"vi": "Cổng Dịch vụ công quốc gia", "en": "National Public Service Portal"},
             "base_url": self.dvcqg.base_url, **common},
        ]  # fmt: skip
        if self.remote_signing is not None:  # needs the sandbox's trust file (idp/sandbox/remote_pki.py)
            entries.append({"id": "kysoxa", "type": "certificate", "version": 1,
                            "display_name": {"vi": "ký số từ xa (mô phỏng)", "en": "remote signing (sandbox)"},
                            "levels": ["pki-remote"], "remote_signing_url": self.base_url + "/remote-signing",
                            "remote_signing_api_key": self.remote_signing.api_key})
        return entries

    def registry_adapter_config(self) -> dict[str, Any]:
        """The adapters-file entry of a ``registry-check`` adapter that asks this sandbox's registry."""
        return {"id": "c06", "type": "registry-check", "display_name": {"vi": "Kiểm tra thẻ (C06, mô phỏng)"},
                "base_url": self.base_url + "/c06", "api_key": self.registry_key}


def serve_forever(host: str, port: int, clients: list[SandboxClient] | None = None,
                  on_ready: Callable[[NationalSandbox], None] | None = None,
                  remote_signing: RemoteSigningService | None = None) -> None:
    """Serve in the foreground until interrupted (``idp sandbox serve``)."""
    sock = bind_loopback(host, port)
    sandbox = NationalSandbox.build(sock, clients)
    sandbox.remote_signing = remote_signing
    if on_ready is not None:
        on_ready(sandbox)
    server = uvicorn.Server(uvicorn.Config(sandbox.app(), log_level="info", lifespan="off"))
    server.run(sockets=[sock])
