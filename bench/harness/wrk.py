"""Single-request workloads with ``wrk`` (Debian package): a Lua script per request, output parsed."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class WrkRequest:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50: float  # seconds
    p99: float
    non_2xx_3xx: int
    socket_errors: int


def lua_script(request: WrkRequest) -> str:
    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"wrk.method = {quote(request.method)}", f"wrk.path = {quote(request.path)}"]
    if request.body:
        lines.append(f"wrk.body = {quote(request.body)}")
    lines += [f"wrk.headers[{quote(k)}] = {quote(v)}" for k, v in request.headers]
    return "\n".join(lines) + "\n"


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_output(output: str) -> WrkResult:
    """Parse ``wrk --latency`` output (wrk 4.x)."""
    percentiles = {int(p): _seconds(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.M)}
    done = re.search(r"^\s*(\d+) requests in ([\d.]+\w+),", output, re.M)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if not done or not rate or 50 not in percentiles or 99 not in percentiles:
        raise ValueError("wrk output without a request count, a rate or latency percentiles")
    non_ok = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return WrkResult(
        requests=int(done.group(1)),
        seconds=_seconds(done.group(2)),
        requests_per_second=float(rate.group(1)),
        p50=percentiles[50],
        p99=percentiles[99],
        non_2xx_3xx=int(non_ok.group(1)) if non_ok else 0,
        socket_errors=sum(int(g) for g in sockets.groups()) if sockets else 0,
    )


def run_wrk(
    base_url: str,
    request: WrkRequest,
    *,
    connections: int,
    duration: float,
    cpu: str | None = "0",
    threads: int = 1,
) -> WrkResult:
    """Run wrk against ``base_url`` (loopback only), pinned to ``cpu`` with taskset when given."""
    if not base_url.startswith(("http://127.0.0.1:", "http://[::1]:")):
        raise ValueError("the benchmark drives loopback addresses only")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(request))
    try:
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            script.name,
            base_url + request.path,
        ]
        if cpu is not None:
            command = ["taskset", "-c", cpu, *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=True)
    finally:
        Path(script.name).unlink(missing_ok=True)
    return parse_output(done.stdout)
