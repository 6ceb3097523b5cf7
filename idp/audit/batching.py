"""Group commit for audit events recorded outside a transaction.

A request thread hands its event to one writer thread and waits until the event is committed:
nothing is answered before its event is durable, yet under load many events share one transaction —
one lock of the chain head, one multi-row insert, one commit (the head row moves at most once per
interval, see SqlAuditLog) — instead of each request serialising on the head row for a transaction
of its own. The hot events come here: sign-ins, codes, and token issuance/refresh after their state
has committed. Events that describe a revocation are still written inside that change's transaction
(see :mod:`idp.audit.sql`).
"""

from __future__ import annotations

import contextlib
import contextvars
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from idp.audit.events import AuditEvent
from idp.observability import metrics
from idp.storage.db import keep_connection_in_this_thread

MAX_BATCH = 200
WAIT_SECONDS = 30.0
_deferred: contextvars.ContextVar[list[Future[None]] | None] = contextvars.ContextVar("idp_audit_waits", default=None)


@contextlib.contextmanager
def commits_awaited_elsewhere() -> Iterator[list[Future[None]]]:
    """Inside, :meth:`AuditBatcher.submit` does not wait for the commit: it adds the event's future
    to the list yielded, for a caller that must not block (an endpoint on the event loop) and awaits
    them itself before answering."""
    waits: list[Future[None]] = []
    token = _deferred.set(waits)
    try:
        yield waits
    finally:
        _deferred.reset(token)


class AuditBatcher:
    """``write_batch(events)`` appends the events in one transaction (in order)."""

    def __init__(self, write_batch: Callable[[list[AuditEvent]], Any]) -> None:
        self._write_batch = write_batch
        # (event, its commit's future, when it was submitted: time.perf_counter())
        self._queue: queue.Queue[tuple[AuditEvent, Future[None], float] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="audit-batcher", daemon=True)
        self._thread.start()

    def submit(self, event: AuditEvent) -> None:
        """Append the event; return once it is committed; raise what the write raised (inside
        :func:`commits_awaited_elsewhere`, return at once: the caller awaits the commit)."""
        done: Future[None] = Future()
        self._queue.put((event, done, time.perf_counter()))
        deferred = _deferred.get()
        if deferred is not None:
            deferred.append(done)
            return
        done.result(timeout=WAIT_SECONDS)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        keep_connection_in_this_thread()  # one PostgreSQL connection for every batch
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                batch.append(item)
            try:
                self._write_batch([event for event, _, _ in batch])
            except Exception as exc:  # each waiting request fails with the cause, none is lost silently
                for _, done, _ in batch:
                    done.set_exception(exc)
            else:
                for _, done, _ in batch:
                    done.set_result(None)
                watched = metrics.current()
                if watched is not None:  # how long each event waited for its commit
                    committed = time.perf_counter()
                    for _, _, submitted in batch:
                        watched.audit_commit_seconds.observe(committed - submitted)
