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

T = TypeVar("T")

#: As many threads as anyio's default limiter allowed (the database pool is sized to match).
MAX_THREADS = 40
_executor = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="idp-blocking")


async def run_blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the pool; its result or its exception."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_executor, call)
