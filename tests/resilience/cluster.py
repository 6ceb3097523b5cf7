"""A local cluster the resilience tests can break: its own PostgreSQL (``initdb`` in a temporary
folder, its own port) and Redis (its own port), three ``idp serve`` replicas, and HAProxy from
Debian terminating TLS with a test CA and sending requests round-robin to the replicas.

Every part can be killed, stopped (SIGSTOP), resumed and restarted without touching the shared
PostgreSQL and Redis of the other tests. HAProxy names the replica that answered in ``X-Replica``
(a header of this test proxy only), so a test can tell where each request landed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from tests.data.ldap.slapd import write_test_pki
from tests.functional.helpers import IDP, free_port, run_idp

#: Cheap password hashing (the issuer is loopback) and small pools: the machine is shared.
REPLICA_SETTINGS = {
    "IDP_PASSWORD_HASH_MEMORY_KIB": "8",
    "IDP_PASSWORD_HASH_TIME_COST": "1",
    "IDP_DATABASE_POOL_SIZE": "6",
    "IDP_DATABASE_POOL_OVERFLOW": "4",
    "IDP_DATABASE_STATEMENT_TIMEOUT_SECONDS": "2",  # a frozen PostgreSQL costs a request 3 s (fault 4)
    "IDP_KEY_REFRESH_SECONDS": "1",
    "IDP_JWKS_MAX_AGE_SECONDS": "4",
    "IDP_TRUSTED_PROXIES": '["127.0.0.1/32"]',
    "IDP_PAIRWISE_SALT": "resilience-cluster-salt-0123456789",
}


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} within {timeout} s")


def postgres_binary(name: str) -> str:
    """A PostgreSQL server program: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    if not found:
        raise RuntimeError(f"{name} not found: install Debian's postgresql package")
    return found if isinstance(found, str) else found[0]


def _children(pid: int) -> list[int]:
    """Every descendant process of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == current]
        found.extend(kids)
        frontier.extend(kids)
    return found


def _signal_tree(pid: int, sig: signal.Signals) -> None:
    for target in [pid, *_children(pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, sig)


class Postgres:
    """A PostgreSQL cluster of its own in a temporary folder (run as ``postgres`` when we are root)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="idp-resilience-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._as_owner([postgres_binary("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--no-instructions"])

    def _as_owner(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if result.returncode != 0:
            raise RuntimeError(f"{command[-1]}: {result.stdout[-1000:]} {result.stderr[-1000:]}")
        return result

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c max_connections=120 "
                   "-c fsync=off -c shared_buffers=16MB")
        self._as_owner([postgres_binary("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
                        "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        """Stop (``immediate``: as a crash, no checkpoint)."""
        with contextlib.suppress(RuntimeError):
            self._as_owner([postgres_binary("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    @property
    def pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def pause(self) -> None:
        """Freeze the server and every backend (SIGSTOP): connections stay open, nothing answers."""
        _signal_tree(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        _signal_tree(self.pid, signal.SIGCONT)

    def sql(self, statement: str) -> str:
        result = self._as_owner(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-XAtq",
                                 "-v", "ON_ERROR_STOP=1", "-c", statement])
        return result.stdout.strip()

    def read_only(self, on: bool) -> None:
        """As a failover to a read-only standby: every new transaction is read-only (sessions too)."""
        self.sql(f"ALTER SYSTEM SET default_transaction_read_only = {'on' if on else 'off'}")
        self.sql("SELECT pg_reload_conf()")

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class Redis:
    """A Redis server of its own, without persistence (a restart loses every key)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(self._answers, 20, "Redis did not answer")

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@dataclass
class Replica:
    """One ``idp serve`` process (granian, one worker) on a loopback port."""

    name: str
    env: dict[str, str]
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    _log: IO[str] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")} | self.env | self.extra_env
        self._log = (self.folder / f"{self.name}.log").open("a")
        self.process = subprocess.Popen([*IDP, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                        env=full_env, stdout=self._log, stderr=subprocess.STDOUT, text=True)
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log()[-2000:]}")
            try:
                return httpx.get(self.base + "/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait(ready, timeout, f"{self.name} was not ready")

    def log(self) -> str:
        return (self.folder / f"{self.name}.log").read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the process ends at once, whatever it was doing."""
        if self.process is not None:
            _signal_tree(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        """SIGTERM: the server finishes what it is doing and ends."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None
        self._close_log()


class Proxy:
    """HAProxy terminating TLS on a loopback port, round-robin over the replicas, checking /readyz."""

    def __init__(self, folder: Path, replicas: list[Replica]) -> None:
        self.folder = folder
        self.port = free_port()
        self.ca, cert, key = write_test_pki(folder)
        self.pem = folder / "proxy.pem"
        self.pem.write_bytes(cert.read_bytes() + key.read_bytes())
        servers = "\n".join(f"    server {r.name} 127.0.0.1:{r.port}" for r in replicas)
        self.config = folder / "haproxy.cfg"
        self.config.write_text(f"""global
    maxconn 500
defaults
    mode http
    option forwardfor
    timeout connect 2s
    timeout client 30s
    timeout server 20s
    retries 3
    option redispatch 1
frontend https
    bind 127.0.0.1:{self.port} ssl crt {self.pem} alpn http/1.1
    http-request del-header X-Forwarded-For
    http-response set-header X-Replica %s
    default_backend idp
backend idp
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server check inter 1s fall 2 rise 1
{servers}
""")
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self._log = (self.folder / "haproxy.log").open("ab")
        self.process = subprocess.Popen([binary, "-db", "-f", str(self.config)], stdout=self._log,
                                        stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


class Cluster:
    """PostgreSQL, Redis, three replicas and the TLS proxy, with one registered relying party
    (``portal``: authorization code + refresh), one machine client (``m2m``) and one account."""

    PASSWORD = "một câu mật khẩu dài đủ dùng"
    PORTAL_SECRET = "resilience-portal-secret-0123456789-abcdef"
    M2M_SECRET = "resilience-m2m-secret-0123456789-abcdefghi"
    REDIRECT_URI = "http://127.0.0.1:9/portal/cb"

    def __init__(self, folder: Path, replicas: int = 3) -> None:
        self.folder = folder
        self.postgres = Postgres()
        self.redis = Redis(folder)
        self.replicas: list[Replica] = []
        self.env: dict[str, str] = {}
        self._count = replicas
        self.proxy: Proxy | None = None

    @property
    def url(self) -> str:
        """The issuer: the proxy's https address."""
        assert self.proxy is not None
        return f"https://127.0.0.1:{self.proxy.port}"

    @property
    def tls(self) -> ssl.SSLContext:
        assert self.proxy is not None
        return ssl.create_default_context(cafile=str(self.proxy.ca))

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.tls, timeout=30, **kwargs)  # type: ignore[arg-type]

    def start(self) -> None:
        self.postgres.start()
        self.redis.start()
        self.replicas = [Replica(f"idp{i + 1}", {}, self.folder) for i in range(self._count)]
        self.proxy = Proxy(self.folder, self.replicas)
        self.env = {**REPLICA_SETTINGS, "IDP_DATABASE_URL": self.postgres.url, "IDP_REDIS_URL": self.redis.url,
                    "IDP_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(32), "IDP_ISSUER": self.url,
                    "IDP_DATA_DIR": str(self.folder / "var")}
        self.idp(["db", "upgrade"])
        self.idp(["clients", "add", "portal", "--secret-stdin", "--redirect-uri", self.REDIRECT_URI,
                  "--grant-type", "authorization_code", "--grant-type", "refresh_token"],
                 stdin=self.PORTAL_SECRET + "\n")
        self.idp(["clients", "add", "m2m", "--secret-stdin", "--grant-type", "client_credentials"],
                 stdin=self.M2M_SECRET + "\n")
        self.idp(["users", "add", "canbo01", "--password-stdin"], stdin=self.PASSWORD + "\n")
        for replica in self.replicas:
            replica.env = self.env
            replica.start(wait=False)
        for replica in self.replicas:
            replica.wait_ready()
        self.proxy.start()
        self.wait_all_up()

    def idp(self, args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run an ``idp`` command against the cluster's database and Redis; it must succeed."""
        result = run_idp(args, self.env, stdin=stdin)
        assert result.returncode == 0, f"idp {' '.join(args)}: {result.stderr[-2000:]}"
        return result

    def replicas_answering(self, tries: int = 6) -> set[str]:
        """The replicas that answered ``tries`` consecutive requests through the proxy."""
        with self.client() as http:
            try:
                return {http.get("/healthz").headers.get("x-replica", "") for _ in range(tries)}
            except httpx.HTTPError:
                return set()

    def wait_all_up(self, timeout: float = 30) -> None:
        """Until the proxy sends requests to every replica again."""
        names = {replica.name for replica in self.replicas}
        _wait(lambda: self.replicas_answering(2 * len(names)) == names, timeout,
              "the proxy did not send traffic to every replica")

    def replica(self, name: str) -> Replica:
        return next(replica for replica in self.replicas if replica.name == name)

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        for replica in self.replicas:
            replica.stop()
        self.redis.stop()
        self.postgres.remove()
