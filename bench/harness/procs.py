"""Server processes: start pinned to a core, wait until they answer, read CPU time and RSS.

CPU time is read from ``/proc/<pid>/stat`` (utime + stime of every live process in the tree,
plus cutime + cstime of children already reaped), so a server that forks workers (granian) is
measured whole.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    # the command name (field 2) may hold spaces: split after its closing parenthesis
    return text[text.rindex(")") + 2 :].split()


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process tree, reaped children included."""
    ticks = 0
    for index, member in enumerate(process_tree(pid)):
        try:
            fields = _stat_fields(member)
        except OSError:
            continue
        # after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
        ticks += int(fields[11]) + int(fields[12])
        if index == 0:
            ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident memory of the process tree (sum of every member's RSS)."""
    total = 0
    for member in process_tree(pid):
        try:
            total += int(_stat_fields(member)[21]) * PAGE_SIZE
        except (OSError, ValueError, IndexError):
            continue
    return total


@dataclass
class RssSampler:
    """Samples the tree's RSS every ``interval`` seconds in a thread; ``peak`` is the maximum seen."""

    pid: int
    interval: float = 0.25
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(self.interval)


@dataclass
class Server:
    """A server under test: its process, where it answers, its log file."""

    name: str
    process: subprocess.Popen
    base_url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_server(
    name: str,
    command: Sequence[str],
    *,
    base_url: str,
    env: dict[str, str],
    cwd: Path,
    log_path: Path,
    cpu: str | None,
    ready_path: str = "/.well-known/openid-configuration",
    timeout: float = 60.0,
) -> Server:
    """Start ``command`` (pinned to ``cpu`` with taskset) and wait until ``ready_path`` answers 200.
    Refused when something answers at ``base_url`` already (a server left by an interrupted run
    would otherwise be measured in place of this one)."""
    try:
        with urllib.request.urlopen(base_url + ready_path, timeout=2):  # noqa: S310 - loopback
            raise RuntimeError(f"{name}: something answers at {base_url} already; stop it first")
    except OSError:
        pass  # nothing there: as it should be
    argv = ["taskset", "-c", cpu, *command] if cpu is not None else list(command)
    log = log_path.open("w")
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name, process, base_url, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(base_url + ready_path, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not answer {ready_path} within {timeout:.0f} s:\n{server.log_tail()}")
