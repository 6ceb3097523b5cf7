"""Progress of long commands (``audit verify``, ``audit export``, ``db upgrade``, ``kek rotate``) on
stderr, so an operator watching a run over millions of events sees it move; stdout stays the
command's result.

:class:`Progress` stays silent for a command that finishes within ``every`` seconds (most runs,
and every test), then writes one line every ``every`` seconds and a last one at the end."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from typing import TextIO


class Progress:
    """``progress(done, total)`` after each item; ``finish()`` at the end."""

    def __init__(self, what: str, *, every: float = 2.0, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.every, self.clock = what, every, clock
        self.stream = stream or sys.stderr
        self.started = self.last = clock()
        self.done, self.shown = 0, False
        self.total: int | None = None

    def __call__(self, done: int, total: int | None = None) -> None:
        self.done, self.total = done, total
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self._show()

    def finish(self) -> None:
        if self.shown:
            self._show()

    def _show(self) -> None:
        self.shown = True
        of = f"/{self.total}" if self.total is not None else ""
        self.stream.write(f"idp: {self.what} {self.done}{of} ({self.clock() - self.started:.0f} s)\n")
        self.stream.flush()


@contextlib.contextmanager
def migration_steps(stream: TextIO | None = None) -> Iterator[None]:
    """Inside, each schema migration that runs is named on stderr (alembic's own lines)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("idp: db upgrade: %(message)s"))
    logger = logging.getLogger("alembic.runtime.migration")
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
