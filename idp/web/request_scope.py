"""What one request shares with the code it runs, whichever thread or loop answers it.

Three per-request facts live here, each behind a context manager that sets it for a block:

- :func:`one_request`: reads memoised for the rest of this request only (a token response needs a
  person's claims for the access token's userinfo snapshot and again for its ID token);
- :func:`on_the_loop`: the request is answered on the event loop, where nothing may block (audit
  events are queued for the group commit, a cached client is used just past its period);
- :func:`checked_before`: an access token's check, done on the loop, answered again to synchronous
  library code without a second store read.

Context variables follow the request into ``run_blocking`` threads and back, so no caller passes
them along.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

from idp.audit.batching import commits_awaited_elsewhere

_memo: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("idp_memo", default=None)
_on_loop: contextvars.ContextVar[bool] = contextvars.ContextVar("idp_on_loop", default=False)
_checked: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("idp_checked_on_loop", default=None)


@contextlib.contextmanager
def one_request() -> Iterator[None]:
    """Reads made inside are shared for the rest of this request, and only this request."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def memo() -> dict[str, Any] | None:
    """The current request's memo (None outside :func:`one_request`)."""
    return _memo.get()


@contextlib.contextmanager
def on_the_loop() -> Iterator[list[Future[None]]]:
    """For work done on the event loop: audit events recorded inside are queued for the group commit
    instead of awaited (the caller awaits the futures it gets before answering)."""
    with commits_awaited_elsewhere() as waits:
        token = _on_loop.set(True)
        try:
            yield waits
        finally:
            _on_loop.reset(token)


def answered_on_loop() -> bool:
    """Whether the current request is answered on the event loop (nothing may block)."""
    return _on_loop.get()


@contextlib.contextmanager
def checked_before(key: str, outcome: Any) -> Iterator[None]:
    """Inside the block, :func:`checked_outcome` of ``key`` answers ``outcome``."""
    token = _checked.set({key: outcome})
    try:
        yield
    finally:
        _checked.reset(token)


def checked_outcome(key: str) -> Any:
    """The outcome :func:`checked_before` set for ``key`` in this block, or None."""
    known = _checked.get()
    return known.get(key) if known is not None else None
