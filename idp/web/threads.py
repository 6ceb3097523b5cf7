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
#: (bench/PROFILE.md §5).
MAX_THREADS = POOL_SIZE
_executor = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="idp-blocking",
                               initializer=keep_connection_in_this_thread)


async def run_blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the pool; its result or its exception."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_executor, call)
