"""The benchmark: vn-idp and node oidc-provider, the same workloads, back to back, one command.

    .venv/bin/python bench/run.py --duration 10

Creates a fresh PostgreSQL database and Redis key space, starts our server and the peer pinned to
the same core (``--server-cpu``), drives every workload with the same load generator from another
core (``--driver-cpu``): wrk for single requests, bench/harness/flows.py for multi-step flows.
Prints the table and writes bench/RESULTS.md (``--no-results`` to skip). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.harness import report  # noqa: E402
from bench.harness.backends import BenchDatabase, BenchRedis  # noqa: E402
from bench.harness.flows import Target  # noqa: E402
from bench.harness.procs import Server, start_server  # noqa: E402
from bench.harness.profile import render as render_profile  # noqa: E402
from bench.harness.profile import summarize  # noqa: E402
from bench.harness.servers import (  # noqa: E402
    DEFAULT_APP,
    PASSWORD,
    SERVER_KINDS,
    USERNAME,
    Clients,
    ensure_peer_installed,
    ours_env,
    peer_command,
    peer_env,
    prepare_ours,
    server_command,
    versions,
)
from bench.harness.workloads import BY_NAME, WORKLOADS, Context, Measurement, Workload, measure  # noqa: E402

#: The cheap password check: argon2id at its least cost (8 KiB, one pass), ordinary settings that our
#: server accepts on a loopback issuer only.
CHEAP_PASSWORD_ENV = ["IDP_PASSWORD_HASH_MEMORY_KIB=8", "IDP_PASSWORD_HASH_TIME_COST=1"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per workload and server")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each measurement")
    parser.add_argument("--connections", type=int, default=50, help="concurrent connections (at most 200)")
    parser.add_argument(
        "--workloads",
        default=",".join(w.name for w in WORKLOADS),
        help="comma-separated subset of: " + ", ".join(BY_NAME),
    )
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="passes over the workloads; each pass measures the servers in the opposite order, and the "
        "tables show the median window (a machine whose speed drifts needs 3)",
    )
    parser.add_argument("--servers", default="ours,peer", help="ours, peer or both (comma-separated)")
    parser.add_argument(
        "--ours-server",
        choices=SERVER_KINDS,
        default="serve",
        help="serve: `idp serve` as shipped (granian, uvloop); uvicorn-direct: uvicorn with uvloop + "
        "httptools; uvicorn-h11: uvicorn with asyncio + h11; granian: granian run directly",
    )
    parser.add_argument(
        "--ours-app", default=DEFAULT_APP, help="ASGI factory for the servers other than `serve` (experiments)"
    )
    parser.add_argument(
        "--cheap-password-env",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="environment of our server (and of the `idp` commands that create the account) for the "
        "cheap-password workloads, repeatable (default: " + " ".join(CHEAP_PASSWORD_ENV) + ", the least "
        "argon2id cost, allowed on the loopback issuer only)",
    )
    parser.add_argument(
        "--ours-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for our server (repeatable)",
    )
    parser.add_argument(
        "--service-param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra form parameter of the client_credentials request (both servers)",
    )
    parser.add_argument(
        "--peer-store",
        choices=("memory", "redis"),
        default="redis",
        help="where the peer keeps sessions, codes, grants and tokens: Redis (bench/peer/redis_adapter.js, a key "
        "prefix of its own: how a province would deploy it, the comparison since issue 22) or its in-memory "
        "adapter (development only, by its authors' documentation; the second table)",
    )
    parser.add_argument(
        "--results",
        default="bench/RESULTS.md",
        help="file the results are written to (relative to the repository)",
    )
    parser.add_argument("--server-cpu", default="1", help="core both servers are pinned to")
    parser.add_argument("--driver-cpu", default="0", help="core of wrk and the flow driver")
    parser.add_argument("--ours-port", type=int, default=8711)
    parser.add_argument("--peer-port", type=int, default=8712)
    parser.add_argument("--no-results", action="store_true", help="do not write the results file")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample our server with py-spy during each workload (ours only; no RESULTS.md)",
    )
    parser.add_argument("--keep-database", action="store_true", help="keep the bench database afterwards")
    parser.add_argument(
        "--preload", action="store_true",
        help="fill our database before measuring: 1,000,000 audit events, 200,000 people with identity links, "
        "500,000 live refresh tokens, 50,000 consents (bench/harness/preload.py; the peer's store stays empty)",
    )
    parser.add_argument("--preload-scale", type=float, default=1.0, help="fraction of the --preload counts (0-1]")
    args = parser.parse_args(argv)
    unknown = [n for n in args.workloads.split(",") if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}")
    if args.profile:
        args.servers, args.no_results = "ours", True
    if not 1 <= args.connections <= 200 or not 1 <= args.duration <= 120:
        parser.error("connections must be 1-200 and duration 1-120 s")
    return args


def _pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"bench: expected NAME=VALUE, got {item!r}")
        out[name] = value
    return out


def metadata(server: Server) -> dict:
    """The server's discovery document ({} while the server has none: its workloads then fail)."""
    import urllib.request

    try:
        with urllib.request.urlopen(server.base_url + "/.well-known/openid-configuration", timeout=5) as r:  # noqa: S310
            return json.loads(r.read())
    except OSError:
        return {}


def target_for(server: Server, clients: Clients) -> Target:
    port = int(server.base_url.rsplit(":", 1)[1])
    return Target(
        server.name, "127.0.0.1", port, metadata(server), clients.rp1, clients.rp2, clients.service, USERNAME, PASSWORD
    )


def argon2_limit(cpu: str) -> float:
    """argon2id verifications per CPU-second at OWASP parameters on the servers' core (our hasher)."""
    code = (
        "import time; from idp.accounts.passwords import hash_password as H, verify_password as V\n"
        "h = H('bench-password-not-common-1'); V(h, 'bench-password-not-common-1')\n"
        "t = time.process_time(); n = 0\n"
        "while time.process_time() - t < 2: V(h, 'bench-password-not-common-1'); n += 1\n"
        "print(n / (time.process_time() - t))\n"
    )
    done = subprocess.run(
        ["taskset", "-c", cpu, sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return float(done.stdout.strip())


def machine() -> dict[str, str]:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"nproc": str(os.cpu_count()), "cpu": model, "kernel": platform.release()}


class Run:
    """One benchmark run: backends, servers per phase, measurements."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self.workdir = Path(tempfile.mkdtemp(prefix="vn-idp-bench-"))
        self.out_dir = REPO / "bench" / "out"
        self.out_dir.mkdir(exist_ok=True)
        self.servers = args.servers.split(",")
        self.clients = Clients.generate()
        self.database: BenchDatabase | None = None
        self.redis: BenchRedis | None = None
        self.peer_redis: BenchRedis | None = None
        self.measurements: list[Measurement] = []
        self.argon2_limits: list[float] = []  # argon2id verifications per CPU-second, once per round

    def log(self, text: str) -> None:
        print(text, flush=True)

    def open_backends(self) -> None:
        self.redis = BenchRedis.choose(prefix=f"vnidp-bench-{self.stamp}:")
        self.database = BenchDatabase.create(f"vnidp_bench_{self.stamp}")
        self.log(f"bench database {self.database.name}, Redis index {self.redis.index} prefix {self.redis.prefix}")
        prepare_ours(self.ours_env("cheap"), self.clients, service_scope="")
        if self.args.preload:
            self.preload()

    def preload(self) -> None:
        """Fill our database (``--preload``) in a process with our server's environment."""
        began = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "bench.harness.preload", "--scale", str(self.args.preload_scale),
             "--clients", f"{self.clients.rp1.client_id},{self.clients.rp2.client_id}"],
            env=self.ours_env("cheap"), cwd=REPO, check=True,
        )
        self.log(f"preloaded our database in {time.monotonic() - began:.0f} s")

    def open_peer_store(self) -> None:
        """The peer's Redis key space (``--peer-store redis``): our DB index, a prefix of its own."""
        prefix = f"vnidp-bench-peer-{self.stamp}:"
        self.peer_redis = BenchRedis(self.redis.index, prefix) if self.redis else BenchRedis.choose(prefix)
        self.log(f"peer store: Redis index {self.peer_redis.index} prefix {prefix}")

    def close_backends(self) -> None:
        for space in (self.redis, self.peer_redis):
            if space:
                space.clear()
        if self.database and not self.args.keep_database:
            self.database.drop()

    def ours_env(self, password_check: str) -> dict[str, str]:
        assert self.database and self.redis
        extra = _pairs(self.args.ours_env)
        if password_check == "cheap":
            extra.update(_pairs(CHEAP_PASSWORD_ENV if self.args.cheap_password_env is None
                                else self.args.cheap_password_env))
        return ours_env(
            port=self.args.ours_port,
            database_url=self.database.url,
            redis_url=self.redis.url,
            redis_prefix=self.redis.prefix,
            data_dir=self.workdir / "ours-data",
            extra=extra,
        )

    def start(self, name: str, password_check: str) -> Server:
        if name == "ours":
            port = self.args.ours_port
            return start_server(
                "ours",
                server_command(self.args.ours_server, port, self.args.ours_app),
                env=self.ours_env(password_check),
                base_url=f"http://127.0.0.1:{port}",
                cwd=REPO,
                cpu=self.args.server_cpu,
                ready_path="/healthz",
                log_path=self.out_dir / f"ours-{password_check}.log",
            )
        port = self.args.peer_port
        env = peer_env(
            port=port,
            clients=self.clients,
            clients_file=self.workdir / "peer-clients.json",
            password_check=password_check,
            redis=self.peer_redis,
        )
        return start_server(
            "peer",
            peer_command(),
            env=env,
            base_url=f"http://127.0.0.1:{port}",
            cwd=REPO,
            cpu=self.args.server_cpu,
            log_path=self.out_dir / f"peer-{password_check}.log",
            ready_path="/healthz",
        )

    def phase(self, password_check: str, workloads: list[Workload], ctx: Context) -> None:
        running: dict[str, Server] = {}
        try:
            for name in self.servers:
                running[name] = self.start(name, password_check)
            targets = {name: target_for(server, self.clients) for name, server in running.items()}
            for round_ in range(self.args.rounds):
                # back to back, in the opposite order every other round: ours then the peer, then the peer first
                order = list(running.items()) if round_ % 2 == 0 else list(reversed(running.items()))
                for workload in workloads:
                    for name, server in order:
                        self.log(f"  {workload.name:<18} {name:<4} ...")
                        m = measure(server, targets[name], workload, ctx, ours=name == "ours")
                        m.round = round_
                        self.measurements.append(m)
                        self.log(
                            f"  {workload.name:<18} {name:<4} {m.units_per_second:8.1f} {m.unit}/s "
                            f"{m.units_per_cpu_second:8.1f} {m.unit}/CPU-s  p99 {m.p99 * 1000:6.1f} ms"
                            f"  errors {m.errors}  (round {round_ + 1})"
                        )
                if password_check == "argon2" and "ours" in running:  # the limit, next to its windows
                    self.argon2_limits.append(argon2_limit(self.args.server_cpu))
        finally:
            for server in running.values():
                server.stop()

    def execute(self) -> None:
        chosen = [BY_NAME[n] for n in self.args.workloads.split(",")]
        os.sched_setaffinity(0, {int(self.args.driver_cpu)})
        if "peer" in self.servers:
            ensure_peer_installed()
        ctx = Context(self.args.connections, self.args.duration, self.args.warmup, _pairs(self.args.service_param))
        if self.args.profile:
            ctx.profile_dir = self.out_dir / f"profile-{self.stamp}"
            ctx.profile_dir.mkdir()
        try:
            if "ours" in self.servers:
                self.open_backends()
                ctx.database, ctx.redis = self.database, self.redis
                assert self.database is not None and self.redis is not None
                ctx.our_backend_pids = (self.database.server_pid(), self.redis.server_pid())
            if "peer" in self.servers and self.args.peer_store == "redis":
                self.open_peer_store()
                assert self.peer_redis is not None
                ctx.peer_backend_pids = (self.peer_redis.server_pid(),)
            for check in ("cheap", "argon2"):
                phase = [w for w in chosen if w.password_check == check]
                if phase:
                    self.log(f"phase: password check {check}")
                    self.phase(check, phase, ctx)
        finally:
            self.close_backends()


def render(run: Run, limit: float | None, command: str) -> str:
    chosen = report.medians(run.measurements)
    table = report.rows(chosen)
    info = machine()
    peer_store = (
        "its in-memory adapter" if run.args.peer_store == "memory" else "a Redis adapter (bench/peer/redis_adapter.js)"
    )
    lines = [
        "# Benchmark results: vn-idp against node oidc-provider",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {info['nproc']} cores ({info['cpu']}), Linux {info['kernel']}; both servers pinned to core "
        f"{run.args.server_cpu}, load generator on core {run.args.driver_cpu}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
        f"- our server: {run.args.ours_server}, one worker, PostgreSQL + Redis; peer: oidc-provider on {peer_store}",
        f"- load: {run.args.connections} connections, {run.args.duration:g} s measured after {run.args.warmup:g} s "
        f"warm-up, per workload and server"
        + (f"; {run.args.rounds} rounds, alternating which server goes first; the tables show the median "
           "window of each" if run.args.rounds > 1 else ""),
        f"- command: `{command}`",
        "- our database: " + (f"preloaded (bench/harness/preload.py, scale {run.args.preload_scale:g})"
                              if run.args.preload else "empty at start"),
        "",
        "Units: `request` one HTTP request; `token` one client_credentials token; `sign-in` authorize → login → "
        "code → token → userinfo (all requests of it); `refresh` one rotation; `join` a second RP's authorize "
        "answered by the SSO session + its code exchange. p50/p99 are per HTTP request.",
        "",
        "## Throughput (ratio = ours / peer; CPU = per CPU-second of the server process)",
        "",
        *report.throughput_table(table),
        "",
        "## Whole system (each server's CPU and its backends': PostgreSQL's whole tree and the Redis server "
        "for ours, the Redis server for the peer on it, nothing for the peer in memory)",
        "",
        *report.system_table(table),
        "",
        "The backends are shared with anything else that uses them during the run: these figures hold on an "
        "otherwise quiet machine.",
        "",
        "## Memory and backends",
        "",
        *report.resources_table(table),
        "",
        "## Targets",
        "",
        *(report.targets(table, limit) or ["- (no measurement of ours)"]),
    ]
    lines += [
        "",
        "Why ours falls short where it does, with the profiles that show it: `bench/PROFILE.md`.",
    ]
    if run.args.rounds > 1:
        lines += ["", "## Rounds (work per CPU-second in each window)", "", *report.rounds_table(run.measurements)]
        if len(run.argon2_limits) > 1:
            lines.append("")
            lines.append("argon2id limit by round (verifications per CPU-second): "
                         + ", ".join(f"{value:.1f}" for value in run.argon2_limits) + "; the median is used above.")
    extra = report.details(chosen)
    if extra:
        lines += ["", "## Details", "", *extra]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(
        [
            os.path.relpath(sys.executable, Path.cwd()) if sys.executable.startswith(str(REPO)) else sys.executable,
            "bench/run.py",
            *(argv if argv is not None else sys.argv[1:]),
        ]
    )
    run = Run(args)
    started = time.monotonic()
    run.execute()
    limit = None
    if run.argon2_limits:
        limit = sorted(run.argon2_limits)[(len(run.argon2_limits) - 1) // 2]
    text = render(run, limit, command)
    print("\n" + text)
    (run.out_dir / f"results-{run.stamp}.json").write_text(
        json.dumps(
            {"command": command, "argon2_limit": limit, "measurements": [m.as_dict() for m in run.measurements]},
            indent=1,
            default=str,
        )
    )
    if not args.no_results:
        (REPO / args.results).write_text(text)
    if args.profile:
        profile_dir = run.out_dir / f"profile-{run.stamp}"
        summaries = [
            render_profile(path.stem, summarize(path.read_text())) for path in sorted(profile_dir.glob("*.collapsed"))
        ]
        (profile_dir / "summary.md").write_text("\n".join(summaries))
        print("\n".join(summaries) + f"\nprofiles in {profile_dir}")
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
