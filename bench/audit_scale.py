"""``idp audit verify`` and ``idp audit export`` over a million events (issue 22).

Run:  .venv/bin/python bench/audit_scale.py [--events 1000000] [--cpu 0]
          [--postgres postgresql://postgres@127.0.0.1:5432/test]

Creates a throw-away PostgreSQL schema and data directory (its KEK), runs ``idp db upgrade``,
opens the key ring as the server would and fills ``audit_events`` with ``--events`` chained events
carrying a signed checkpoint every ``IDP_AUDIT_CHECKPOINT_INTERVAL`` (1000) events
(:mod:`bench.harness.audit_fill`: the product's chaining code, written with COPY). Then, each as
its own ``idp`` process pinned with ``taskset -c CPU``:

- ``idp audit verify``: CPU seconds of the process (user + system, from ``wait4``), wall seconds,
  peak RSS, and the progress lines it wrote to stderr;
- ``idp audit export -o /dev/null`` of the whole log and of its first tenth (``--until``): peak RSS
  of each (constant memory: the two agree), CPU and wall seconds.

PostgreSQL's own CPU is not counted. The schema is dropped at the end (``--keep`` keeps it).
Loopback only.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from bench.harness.audit_fill import fill_audit_events, timed  # noqa: E402

IDP = [sys.executable, "-m", "idp.cli"]


@dataclass(frozen=True)
class Run:
    """One ``idp`` process: exit code, CPU (user + system), wall seconds, peak RSS, stdout, stderr."""

    returncode: int
    cpu: float
    wall: float
    max_rss_mib: float
    stdout: str
    stderr: str


def run_idp(args: list[str], env: dict[str, str], cpu: str) -> Run:
    """``idp ARGS`` pinned to ``cpu``; its own resource use from ``wait4`` (not other children's)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(["taskset", "-c", cpu, *IDP, *args], env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(proc.returncode, usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024,
                   out.read(), err.read())


def fill(env: dict[str, str], count: int) -> tuple[int, float]:
    """Open the key ring as a server would and fill the log; (last seq, wall seconds)."""
    os.environ.update(env)
    from idp.audit.setup import attach_key_ring, open_audit_log
    from idp.runtime import open_storage
    from idp.settings import load_settings
    from keys.ring import open_key_ring

    settings = load_settings()
    storage = open_storage(settings)
    try:
        log = open_audit_log(settings, storage.db)
        attach_key_ring(log, open_key_ring(settings, storage, log), settings)
        last: int
        last, wall = timed(lambda: fill_audit_events(log, count, progress=_progress(count)))
        return last, wall
    finally:
        storage.close()


def _progress(total: int) -> Callable[[int], None]:
    began = time.perf_counter()

    def show(done: int) -> None:
        if done % 200_000 == 0 or done == total:
            print(f"filled {done}/{total} ({time.perf_counter() - began:.0f} s)", file=sys.stderr)

    return show


def first_tenth() -> tuple[str, int]:
    """The ``--until`` of an export of about the first tenth of the events (ISO, UTC), and how many
    events are before it (the environment is the fill's)."""
    from idp.runtime import open_storage
    from idp.settings import load_settings

    storage = open_storage(load_settings())
    try:
        with storage.db.connect() as conn:
            first, last = conn.exec_driver_sql("SELECT min(occurred_at), max(occurred_at) FROM audit_events").one()
            until = first + (last - first) / 10
            count = conn.exec_driver_sql("SELECT count(*) FROM audit_events WHERE occurred_at < %(u)s",
                                         {"u": until}).scalar_one()
    finally:
        storage.close()
    return until.isoformat(), int(count)


def row(name: str, result: Run, events: str) -> str:
    return (f"| {name} | {events} | {result.cpu:.1f} | {result.wall:.1f} | {result.max_rss_mib:.0f} | "
            f"{result.returncode} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--cpu", default="0", help="core the idp processes are pinned to (taskset -c)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--keep", action="store_true", help="keep the schema (and print its URL)")
    args = parser.parse_args()
    count = max(1, min(args.events, 5_000_000))
    schema = "bench_audit_" + secrets.token_hex(4)
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            env = {**{k: v for k, v in os.environ.items() if not k.startswith("IDP_")},
                   "IDP_DATA_DIR": data_dir, "IDP_DATABASE_URL": f"{args.postgres}?options=-csearch_path%3D{schema}"}
            subprocess.run([*IDP, "db", "upgrade"], env=env, check=True, capture_output=True)
            last, fill_wall = fill(env, count)
            print(f"filled {count} events (last seq {last}) in {fill_wall:.0f} s", file=sys.stderr)
            verify = run_idp(["audit", "verify"], env, args.cpu)
            whole = run_idp(["audit", "export", "-o", "/dev/null"], env, args.cpu)
            until, before = first_tenth()
            part = run_idp(["audit", "export", "-o", "/dev/null", "--until", until], env, args.cpu)
            lines = ["| command | events | CPU s | wall s | peak RSS MiB | exit |", "|---|---:|---:|---:|---:|---:|",
                     row("idp audit verify", verify, str(last)),
                     row("idp audit export -o /dev/null", whole, str(last)),
                     row("idp audit export -o /dev/null --until (a tenth)", part, str(before))]
            print("\n".join(lines))
            print(f"\nverify stdout: {verify.stdout.strip()}")
            progress = [line for line in verify.stderr.splitlines() if "audit verify" in line]
            print(f"verify progress lines on stderr: {len(progress)}; first: {progress[:1]}; last: {progress[-1:]}")
            for result in (verify, whole, part):
                if result.returncode:
                    print(result.stderr[-2000:], file=sys.stderr)
            if args.keep:
                print(f"kept: {env['IDP_DATABASE_URL']} (data dir removed)")
    finally:
        if not args.keep:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
