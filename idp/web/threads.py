"""Blocking work (SQL, the synchronous Redis client, password hashing) off the event loop.

One thread pool for the whole process, entered with ``loop.run_in_executor``: a hop costs about a
third of anyio's ``to_thread.run_sync`` (which starlette's ``run_in_threadpool`` uses), measured
in bench/PROFILE.md. The caller's context variables (request memo, ambient transaction) travel
with the call, as they do with anyio.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from idp.storage.db import POOL_SIZE, keep_connection_in_this_thread

T = TypeVar("T")

#: One thread per pooled database connection, each keeping its own (idp.storage.db): a thread never
#: waits for a connection, and the pool never opens and closes extra ones under a burst
#: (bench/PROFILE.md §5). :func:`size_pool` sets it to ``IDP_DATABASE_POOL_SIZE``.
MAX_THREADS = POOL_SIZE


def _new_executor(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="idp-blocking",
                              initializer=keep_connection_in_this_thread)


_executor = _new_executor(MAX_THREADS)


def size_pool(threads: int) -> None:
    """Run at most ``threads`` blocking calls at once (the database pool's size). ``create_app``
    calls it before serving; a pool already in use finishes its calls and is replaced."""
    global _executor
    if _executor._max_workers == threads:
        return
    previous, _executor = _executor, _new_executor(threads)
    previous.shutdown(wait=False)


async def run_blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the pool; its result or its exception."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_executor, call)
