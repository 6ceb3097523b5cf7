"""One piece of work in a child process under hard limits: wall time, CPU time, address space.

:func:`run_limited` forks a child (it inherits the verifier's trust and revocation cache as they
are, nothing is pickled on the way in), which lowers its own limits before it starts: an address
space of what it inherited plus ``memory_bytes`` (``RLIMIT_AS``: an allocation past it is a
``MemoryError``), ``RLIMIT_CPU`` (the kernel stops a child that computes too long), and no core
file (the document would be in it). The parent
waits at most ``wall_seconds`` and kills the child on overrun, so a hostile document's work ends
with its answer. The child sends back its result (or the refusal it raised) through a pipe, with
the revocation answers it fetched (:class:`RevocationCache` entries) so later work still finds
them; a child that dies without answering (killed, out of stack) is a :class:`LimitExceeded`.
"""

from __future__ import annotations

import math
import multiprocessing
import resource
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from idp.errors import IdpError

_FORK = multiprocessing.get_context("fork")
ANSWER_MARGIN_BYTES = 32 * 1024 * 1024


class LimitExceeded(IdpError):
    """The child overran a limit or died without an answer; ``kind`` says which."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind  # "time" (wall or CPU), "memory" or "died"


@dataclass(frozen=True)
class Limits:
    wall_seconds: float
    memory_bytes: int

    @property
    def cpu_seconds(self) -> int:
        return max(1, math.ceil(self.wall_seconds))


def _address_space_now() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def _child(work: Callable[[], Any], limits: Limits, sender: Connection) -> None:
    try:
        allowed = _address_space_now() + limits.memory_bytes
        # the soft limit stops the work; the margin up to the hard one is for sending the answer
        resource.setrlimit(resource.RLIMIT_AS, (allowed, allowed + ANSWER_MARGIN_BYTES))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a killed child leaves no core (the document is in it)
        answer: tuple[str, Any]
        try:
            answer = ("ok", work())
        except MemoryError:
            answer = ("limit", "memory")
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which decides what it is
            answer = ("raised", exc.with_traceback(None))
        # out of the handlers, the work's frames are gone; the margin is there if that was not enough
        resource.setrlimit(resource.RLIMIT_AS, (allowed + ANSWER_MARGIN_BYTES, allowed + ANSWER_MARGIN_BYTES))
        sender.send(answer)
    finally:
        sender.close()


def run_limited(work: Callable[[], Any], limits: Limits) -> Any:
    """``work()`` in a forked child under ``limits``; its result, or its exception raised again
    here (it must pickle), or LimitExceeded. Blocking: call it from a worker thread."""
    receiver, sender = _FORK.Pipe(duplex=False)
    child = _FORK.Process(target=_child, args=(work, limits, sender), daemon=True)
    try:
        child.start()
    finally:
        sender.close()
    try:
        if not receiver.poll(limits.wall_seconds):
            raise LimitExceeded("time")
        try:
            answer = receiver.recv()
        except (EOFError, OSError):  # died before answering: the CPU limit's SIGXCPU, or a crash
            child.join(5)
            stopped = child.exitcode in (-signal.SIGXCPU, -signal.SIGKILL, None)  # None: still dying
            raise LimitExceeded("time" if stopped else "died") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
        child.close()
    kind, value = answer
    if kind == "ok":
        return value
    if kind == "limit":
        raise LimitExceeded(value)
    raise value
