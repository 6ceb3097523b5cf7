"""Preparing and starting the two servers under test with the same clients and the same account.

Ours: ``idp`` on the run's PostgreSQL database and Redis index, clients and the account created
with the ``idp`` command as an operator would. Server choice: ``idp serve`` as shipped (granian on
uvloop), uvicorn with uvloop and httptools or with plain asyncio and h11, or granian run directly.
Peer: ``node bench/peer/server.js`` (oidc-provider on its in-memory adapter).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.harness.backends import BenchRedis
from bench.harness.flows import RelyingParty

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PEER_DIR = REPO / "bench" / "peer"

USERNAME = "bench-user"
PASSWORD = "bench-password-not-common-1"  # 27 characters: passes the 15-character policy

DEFAULT_APP = "idp.app:create_app"


def server_command(kind: str, port: int, app: str = DEFAULT_APP) -> list[str]:
    """The command line of our server. ``serve`` is ``idp serve`` as shipped (granian, uvloop); the
    others run ``app`` (an ASGI factory) directly, without access log."""
    bind = ["--host", "127.0.0.1", "--port", str(port)]
    if kind == "serve":
        return [str(VENV_BIN / "idp"), "serve", *bind]
    if kind in ("uvicorn-direct", "uvicorn-h11"):
        loop, http = ("uvloop", "httptools") if kind == "uvicorn-direct" else ("asyncio", "h11")
        return [str(VENV_BIN / "uvicorn"), app, "--factory", *bind, "--loop", loop, "--http", http,
                "--no-access-log", "--no-server-header", "--log-level", "warning"]  # fmt: skip
    if kind == "granian":
        return [str(VENV_BIN / "granian"), "--interface", "asgi", "--factory", *bind, "--workers", "1",
                "--loop", "uvloop", "--log-level", "warning", app]  # fmt: skip
    raise ValueError(f"unknown server {kind!r}")


SERVER_KINDS = ("serve", "uvicorn-direct", "uvicorn-h11", "granian")


@dataclass(frozen=True)
class Clients:
    rp1: RelyingParty
    rp2: RelyingParty
    service: RelyingParty

    @classmethod
    def generate(cls) -> Clients:
        """Fresh secrets; redirect URIs on the discard port (the driver reads them, never calls)."""

        def rp(client_id: str, redirect: bool = True) -> RelyingParty:
            uri = f"http://127.0.0.1:9/{client_id}/callback" if redirect else ""
            return RelyingParty(client_id, secrets.token_urlsafe(32), uri)

        return cls(rp("bench-rp1"), rp("bench-rp2"), rp("bench-service", redirect=False))


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The harness's environment without IDP_* and PEER_* variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PEER_"))}
    env.update(extra)
    return env


def ours_env(
    *, port: int, database_url: str, redis_url: str, redis_prefix: str, data_dir: Path, extra: dict[str, str]
) -> dict[str, str]:
    return clean_env(
        {
            "IDP_ISSUER": f"http://127.0.0.1:{port}",
            "IDP_DATABASE_URL": database_url,
            "IDP_REDIS_URL": redis_url,
            "IDP_REDIS_PREFIX": redis_prefix,
            "IDP_DATA_DIR": str(data_dir),
            **extra,
        }
    )


def _idp(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "idp"), *args], env=env, cwd=REPO, input=stdin, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"idp {' '.join(args[:2])} failed: {done.stderr.strip()[:500]}")
    return done.stdout


def prepare_ours(env: dict[str, str], clients: Clients, service_scope: str) -> None:
    """Schema, the two RPs, the service client and the account, through the ``idp`` command."""
    _idp(env, "db", "upgrade")
    for rp in (clients.rp1, clients.rp2):
        _idp(
            env,
            "clients",
            "add",
            rp.client_id,
            "--redirect-uri",
            rp.redirect_uri,
            "--secret-stdin",
            "--trusted",
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            stdin=rp.client_secret + "\n",
        )
    _idp(
        env,
        "clients",
        "add",
        clients.service.client_id,
        "--secret-stdin",
        "--grant-type",
        "client_credentials",
        *[arg for scope in service_scope.split() for arg in ("--scope", scope)],
        stdin=clients.service.client_secret + "\n",
    )
    _idp(
        env,
        "users",
        "add",
        USERNAME,
        "--password-stdin",
        "--name",
        "Nguyễn Văn Bench",
        "--email",
        "bench@example.vn",
        stdin=PASSWORD + "\n",
    )


def peer_env(
    *, port: int, clients: Clients, clients_file: Path, password_check: str, redis: BenchRedis | None = None
) -> dict[str, str]:
    """The peer's environment; with ``redis`` it keeps its models there (PEER_STORE=redis), else in memory."""
    clients_file.write_text(
        json.dumps(
            [
                {
                    "client_id": rp.client_id,
                    "client_secret": rp.client_secret,
                    "redirect_uri": rp.redirect_uri,
                    "grant_types": ["authorization_code", "refresh_token"],
                }
                for rp in (clients.rp1, clients.rp2)
            ]
            + [
                {
                    "client_id": clients.service.client_id,
                    "client_secret": clients.service.client_secret,
                    "redirect_uri": "",
                    "grant_types": ["client_credentials"],
                }
            ]
        )
    )
    return clean_env(
        {
            "PEER_PORT": str(port),
            "PEER_CLIENTS": str(clients_file),
            "PEER_USERNAME": USERNAME,
            "PEER_PASSWORD": PASSWORD,
            "PEER_PASSWORD_CHECK": password_check,
            "NODE_ENV": "production",
            **(
                {"PEER_STORE": "redis", "PEER_REDIS_URL": redis.url, "PEER_REDIS_PREFIX": redis.prefix}
                if redis
                else {"PEER_STORE": "memory"}
            ),
        }
    )


def ensure_peer_installed() -> None:
    """``npm ci`` from the committed lock file when node_modules is missing."""
    if not (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER_DIR, check=True, timeout=600)


def peer_command() -> list[str]:
    return ["node", str(PEER_DIR / "server.js")]


def versions() -> dict[str, str]:
    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    lock = json.loads((PEER_DIR / "package-lock.json").read_text())
    packages = lock.get("packages", {})
    from importlib.metadata import PackageNotFoundError, version

    def py(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return {
        "python": sys.version.split()[0],
        "vn-idp": py("vn-idp"),
        "uvicorn": py("uvicorn"),
        "uvloop": py("uvloop"),
        "httptools": py("httptools"),
        "granian": py("granian"),
        "node": run("node", "--version"),
        "oidc-provider": packages.get("node_modules/oidc-provider", {}).get("version", "?"),
        "@node-rs/argon2": packages.get("node_modules/@node-rs/argon2", {}).get("version", "?"),
        "postgresql": run("psql", "--version").split(" (Debian")[0].replace("psql (PostgreSQL) ", ""),
        "redis": run("redis-server", "--version").split(" sha=")[0].replace("Redis server v=", ""),
        "wrk": " ".join(run("wrk", "--version").split()[:2]),
    }
