"""Instructions per unit of work of our server, counted by callgrind: an A/B that a busy machine cannot blur.

    .venv/bin/python bench/instructions.py --count 60 --results bench/out/instructions-after.json

``bench/run.py`` measures units per CPU-second, which is what a province pays for, but on a shared
two-core machine one build measured twice differs by tens of percent. Instruction counts do not
depend on what else the machine is doing, so a claim such as "no workload more than 3 % slower"
between two commits can be checked here: run this script once with each build's virtualenv (an
editable install ignores ``PYTHONPATH``, so each build needs its own venv; the harness is this
checkout's) and compare the JSON files with ``--compare A.json B.json``.

How: our server (uvicorn with uvloop and httptools, one process, ``PYTHONHASHSEED=0``) runs under
``valgrind --tool=callgrind`` with instrumentation off; each workload is set up and warmed up
uninstrumented, then instrumentation is switched on (``callgrind_control -i on``), ``--count``
units are driven one after the other on one connection, and the dump's total (every thread of the
process: the request, the audit writer, the pools) divided by the count is the figure. The database
and Redis are the run's own, as in ``bench/run.py``. Their own work (PostgreSQL backends, Redis) is
not counted. Instructions are a proxy for CPU time (they ignore cache misses and system calls'
kernel time), so a change that moves work into the kernel or the database would look cheaper here
than it is: read ``bench/run.py``'s figures beside these.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness.backends import BenchDatabase, BenchRedis  # noqa: E402
from bench.harness.flows import Recorder, Target, Worker, sign_in, sso_join  # noqa: E402
from bench.harness.http import basic_auth  # noqa: E402
from bench.harness.procs import Server, start_server  # noqa: E402
from bench.harness.servers import (  # noqa: E402
    PASSWORD,
    USERNAME,
    VENV_BIN,
    Clients,
    ours_env,
    prepare_ours,
)

WORKLOADS = ("sign_in", "sso_join", "refresh", "client_credentials", "introspection", "userinfo")
#: Units per ``--count``: cheaper workloads run more units, so that the few health checks that wake
#: the server for each callgrind command stay well under 1 % of every window.
UNITS_PER_COUNT = {
    "sign_in": 1,
    "sso_join": 2,
    "refresh": 3,
    "client_credentials": 6,
    "introspection": 12,
    "userinfo": 12,
}
#: The least argon2id cost (ordinary settings, allowed on a loopback issuer), as bench/run.py uses.
CHEAP_PASSWORD_ENV = ("IDP_PASSWORD_HASH_MEMORY_KIB=8", "IDP_PASSWORD_HASH_TIME_COST=1")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--count", type=int, default=60, help="measured units of sign_in (the others: UNITS_PER_COUNT times more)"
    )
    parser.add_argument("--warmup", type=int, default=15, help="unmeasured units before each measurement")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument(
        "--cheap-password-env",
        action="append",
        metavar="NAME=VALUE",
        help="our server's environment for a cheap password check (default: " + " ".join(CHEAP_PASSWORD_ENV) + ")",
    )
    parser.add_argument("--results", help="JSON file of the figures")
    parser.add_argument(
        "--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="compare two JSON files instead of measuring"
    )
    return parser.parse_args(argv)


def callgrind(pid: int, base_url: str, *args: str) -> None:
    """Send a command to the callgrind of ``pid``. Valgrind reads commands only while the program
    runs, and an idle server sleeps in ``epoll_wait``: health checks wake it until the command is
    done (a fraction of one ``/healthz`` lands in the window, the same for both builds)."""
    import urllib.request

    control = subprocess.Popen(
        ["callgrind_control", *args, str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while control.poll() is None:
        if time.monotonic() > deadline:
            control.kill()
            raise RuntimeError(f"callgrind_control {' '.join(args)} did not finish")
        with urllib.request.urlopen(base_url + "/healthz", timeout=60) as response:  # noqa: S310 - loopback
            response.read()
        time.sleep(0.2)
    if control.returncode != 0:
        raise RuntimeError(f"callgrind_control {' '.join(args)} failed ({control.returncode})")


def dumped_total(out_dir: Path, since: set[Path]) -> int:
    """The ``totals:`` (instructions) of the dump files written since ``since``."""
    total = 0
    for path in sorted(set(out_dir.glob("callgrind.out*")) - since):
        match = re.search(r"^(?:totals|summary): (\d+)", path.read_text(errors="replace"), re.MULTILINE)
        if match:
            total += int(match.group(1))
    return total


class Driver:
    """One simulated browser and relying party driving the workloads one unit at a time."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.worker = Worker(target, Recorder())

    async def unit(self, workload: str) -> None:
        """One unit of ``workload``; raises on an answer a conforming server would not give."""
        w, t = self.worker, self.target
        if workload == "sign_in":
            await sign_in(w)
        elif workload == "sso_join":
            await sso_join(w)
        elif workload == "refresh":
            await w.refresh(t.rp1)
        elif workload == "client_credentials":
            auth = {"Authorization": basic_auth(t.service.client_id, t.service.client_secret), **FORM}
            await self.expect(
                w.send("POST", t.endpoint("token_endpoint"), auth, b"grant_type=client_credentials"), "access_token"
            )
        elif workload == "introspection":
            assert w.tokens is not None
            auth = {"Authorization": basic_auth(t.rp1.client_id, t.rp1.client_secret), **FORM}
            body = f"token={w.tokens.access_token}&token_type_hint=access_token".encode()
            await self.expect(w.send("POST", t.endpoint("introspection_endpoint"), auth, body), "active")
        elif workload == "userinfo":
            assert w.tokens is not None
            bearer = {"Authorization": f"Bearer {w.tokens.access_token}"}
            await self.expect(w.send("GET", t.endpoint("userinfo_endpoint"), bearer), "sub")
        else:
            raise ValueError(f"unknown workload {workload!r}")

    @staticmethod
    async def expect(sending: Awaitable, field: str) -> None:
        response = await sending
        if response.status != 200 or field not in json.loads(response.body):
            raise RuntimeError(f"not a real answer: {response.status} {response.body[:200]!r}")

    async def setup(self, workload: str) -> None:
        if workload != "sign_in" and workload != "client_credentials":
            await sign_in(self.worker)  # a session, a refresh token and an access token

    async def close(self) -> None:
        await self.worker.connection.close()


def measure(server: Server, target: Target, workload: str, args: argparse.Namespace, out_dir: Path) -> dict:
    async def run(count: int, before: Callable[[], None] = lambda: None) -> float:
        started = time.perf_counter()
        before()
        for _ in range(count):
            await driver.unit(workload)
        return time.perf_counter() - started

    async def session() -> dict:
        await driver.setup(workload)
        await run(args.warmup * UNITS_PER_COUNT[workload])
        existing = set(out_dir.glob("callgrind.out*"))
        callgrind(server.pid, server.base_url, "--zero")
        callgrind(server.pid, server.base_url, "--instr=on")
        units = args.count * UNITS_PER_COUNT[workload]
        seconds = await run(units)
        callgrind(server.pid, server.base_url, "--dump=" + workload)  # while on: a dump after "off" is garbage
        callgrind(server.pid, server.base_url, "--instr=off")
        instructions = dumped_total(out_dir, existing)
        await driver.close()
        return {
            "units": units,
            "instructions": instructions,
            "per_unit": instructions / units,
            "seconds_under_valgrind": round(seconds, 1),
        }

    driver = Driver(target)
    return asyncio.run(session())


def metadata(base_url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(base_url + "/.well-known/openid-configuration", timeout=30) as r:  # noqa: S310
        return json.loads(r.read())


def main_measure(args: argparse.Namespace) -> int:
    stamp = time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(2)
    workdir = Path(tempfile.mkdtemp(prefix="vn-idp-instr-"))
    redis = BenchRedis.choose(prefix=f"vnidp-instr-{stamp}:")
    database = BenchDatabase.create(f"vnidp_instr_{stamp}")
    clients = Clients.generate()
    pairs = dict(item.split("=", 1) for item in (args.cheap_password_env or CHEAP_PASSWORD_ENV))
    env = ours_env(
        port=args.port,
        database_url=database.url,
        redis_url=redis.url,
        redis_prefix=redis.prefix,
        data_dir=workdir / "data",
        extra={**pairs, "PYTHONHASHSEED": "0"},
    )
    server = None
    try:
        prepare_ours(env, clients, service_scope="")
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--dump-instr=no",
                   f"--callgrind-out-file={workdir}/callgrind.out.%p",
                   str(VENV_BIN / "python"), "-m", "uvicorn", "idp.app:create_app", "--factory",
                   "--host", "127.0.0.1", "--port", str(args.port), "--loop", "uvloop", "--http", "httptools",
                   "--no-access-log", "--log-level", "warning"]  # fmt: skip
        server = start_server(
            "ours",
            command,
            base_url=f"http://127.0.0.1:{args.port}",
            env=env,
            cwd=workdir,
            log_path=workdir / "server.log",
            cpu=None,
            ready_path="/healthz",
            timeout=600,
        )
        target = Target(
            "ours",
            "127.0.0.1",
            args.port,
            metadata(server.base_url),
            clients.rp1,
            clients.rp2,
            clients.service,
            USERNAME,
            PASSWORD,
        )
        figures = {}
        for workload in args.workloads.split(","):
            figures[workload] = measure(server, target, workload, args, workdir)
            print(f"{workload:20} {figures[workload]['per_unit'] / 1e6:10.2f} M instructions per unit", flush=True)
        if args.results:
            Path(args.results).write_text(json.dumps({"python": str(VENV_BIN), "workloads": figures}, indent=2))
    finally:
        if server is not None:
            server.stop()
        redis.clear()
        database.drop()
    return 0


def main_compare(before_path: str, after_path: str) -> int:
    before = json.loads(Path(before_path).read_text())["workloads"]
    after = json.loads(Path(after_path).read_text())["workloads"]
    print("| workload | before, M instr./unit | after | after / before |\n|---|---:|---:|---:|")
    for name in before:
        if name in after:
            b, a = before[name]["per_unit"], after[name]["per_unit"]
            print(f"| {name} | {b / 1e6:.2f} | {a / 1e6:.2f} | {a / b:.3f} |")
    return 0


if __name__ == "__main__":
    arguments = parse_args()
    sys.exit(main_compare(*arguments.compare) if arguments.compare else main_measure(arguments))
