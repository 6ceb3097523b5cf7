"""Sampling our server with py-spy during a measured window, and reading the samples.

py-spy attaches from outside (``--nonblocking``: the server is never paused) and writes collapsed
stacks (``frame;frame;... count``). Idle samples (the event loop waiting in epoll) are left out by
py-spy, so the counts are where CPU time goes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PY_SPY = Path(sys.executable).parent / "py-spy"


@dataclass
class Sampler:
    pid: int
    output: Path
    rate: int = 200
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(PY_SPY), "record", "--pid", str(self.pid), "--nonblocking", "--rate", str(self.rate),
             "--format", "raw", "--nolineno", "--subprocesses", "--gil", "-o", str(self.output)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


# Where a sample's time goes: the first frame from the leaf upwards that belongs to one of these.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("argon2id", ("(argon2/",)),
    ("JOSE / crypto", ("(keys/algorithms", "(keys/jwt", "(keys/verify", "(joserfc/", "(cryptography/")),
    ("PostgreSQL client (psycopg, SQLAlchemy)", ("(psycopg/", "(sqlalchemy/", "(psycopg_pool/")),
    ("Redis client", ("(redis/",)),
    ("audit chain", ("(idp/audit/",)),
    ("templates (jinja2)", ("(jinja2/", "(markupsafe/")),
    ("thread hand-off (sync endpoints)", ("(threading.py)", "(anyio/", "(queue.py)", "(concurrent/")),
    ("logging", ("(logging/",)),
    ("authlib", ("(authlib/",)),
    ("FastAPI / Starlette", ("(fastapi/", "(starlette/")),
    ("HTTP server and event loop", ("(uvicorn/", "(granian/", "(asyncio/", "(selectors.py)")),
    ("our code", ("(idp/", "(keys/", "(policies/", "(adapters/")),
)


def category_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, markers in CATEGORIES:
            if any(marker in frame for marker in markers):
                return name
    return "other"


@dataclass(frozen=True)
class Summary:
    samples: int
    self_time: list[tuple[str, int]]  # leaf frames, most samples first
    inclusive: list[tuple[str, int]]  # any frame on the stack, most samples first
    categories: list[tuple[str, int]]  # category_of each sample, most samples first
    ours_inclusive: list[tuple[str, int]]  # our packages' frames on the stack


REPO = str(Path(__file__).resolve().parents[2]) + "/"


def _short(frame: str) -> str:
    """``create (<repo>/.venv/lib/python3.11/site-packages/x/y.py)`` -> ``create (x/y.py)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", REPO, "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})" if where else name


def summarize(collapsed: str, top: int = 30) -> Summary:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames:
            continue
        samples += count
        self_time[frames[-1]] += count
        categories[category_of(frames)] += count
        for frame in set(frames):
            inclusive[frame] += count
    ours = Counter({f: n for f, n in inclusive.items() if _is_ours(f)})
    return Summary(
        samples, self_time.most_common(top), inclusive.most_common(top), categories.most_common(), ours.most_common(top)
    )


def _is_ours(frame: str) -> bool:
    """A frame of our packages, not the command-line entry that is on every stack."""
    ours = any(marker in frame for marker in ("(idp/", "(keys/", "(policies/", "(adapters/"))
    return ours and "(idp/cli/" not in frame


def render(workload: str, summary: Summary) -> str:
    def table(title: str, rows: list[tuple[str, int]]) -> list[str]:
        lines = [f"| {title} | samples | share |", "|---|---:|---:|"]
        lines += [f"| `{name}` | {n} | {n / max(summary.samples, 1) * 100:.1f} % |" for name, n in rows]
        return lines

    return "\n".join([
        f"### {workload} ({summary.samples} samples while holding the GIL)", "",
        *table("category", summary.categories), "",
        *table("our frames (inclusive)", summary.ours_inclusive[:20]), "",
        *table("self (leaf frame)", summary.self_time[:15]), "",
    ])  # fmt: skip
