"""Running a coroutine to completion from a test, whatever the test thread already runs.

The browser tests' Playwright (sync API) keeps an event loop running in the main thread for the
rest of the session, where ``asyncio.run`` refuses to start another: run it on a thread of its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_on_new_loop(work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(work)`` on a new thread; its result, or the exception it raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, asyncio.run(work)))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            outcome.append((False, exc))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]
