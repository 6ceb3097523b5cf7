"""CPU per thread hop: anyio's ``to_thread`` (starlette's ``run_in_threadpool``) against
``loop.run_in_executor`` with the caller's context, 50 concurrent callers on uvloop.

    .venv/bin/python bench/experiments/thread_hop.py

Behind the choice in idp/web/threads.py (bench/PROFILE.md, second round).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from concurrent.futures import ThreadPoolExecutor

import uvloop
from starlette.concurrency import run_in_threadpool

HOPS = 20_000
CALLERS = 50
_executor = ThreadPoolExecutor(max_workers=32)


def work(x: int) -> int:
    return x + 1


async def via_anyio(n: int) -> None:
    for i in range(n):
        await run_in_threadpool(work, i)


async def via_executor(n: int) -> None:
    loop = asyncio.get_running_loop()
    for i in range(n):
        await loop.run_in_executor(_executor, functools.partial(contextvars.copy_context().run, work, i))


async def main() -> None:
    for _ in range(2):  # the first round warms both up
        for name, hop in (("anyio to_thread", via_anyio), ("run_in_executor", via_executor)):
            started = time.process_time()
            await asyncio.gather(*(hop(HOPS // CALLERS) for _ in range(CALLERS)))
            print(f"{name:16} {(time.process_time() - started) / HOPS * 1e6:6.1f} µs of CPU per hop")


if __name__ == "__main__":
    uvloop.run(main())
