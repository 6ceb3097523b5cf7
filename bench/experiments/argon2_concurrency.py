"""CPU per argon2id verification (OWASP parameters, as configured) when 1, 2 or 4 run at once on
one core: why idp.accounts.passwords allows one computation per core the process may run on.

    taskset -c 1 .venv/bin/python bench/experiments/argon2_concurrency.py
"""

from __future__ import annotations

import threading
import time

from idp.accounts.passwords import HASHER

PASSWORD = "correct horse battery staple 123"
VERIFICATIONS = 24


def per_cpu_second(threads: int) -> tuple[float, float]:
    stored = HASHER.hash(PASSWORD)

    def work(count: int) -> None:
        for _ in range(count):
            HASHER.verify(stored, PASSWORD)

    workers = [threading.Thread(target=work, args=(VERIFICATIONS // threads,)) for _ in range(threads)]
    cpu, wall = time.process_time(), time.time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return VERIFICATIONS / (time.process_time() - cpu), VERIFICATIONS / (time.time() - wall)


def main() -> None:
    for _ in range(2):
        for threads in (1, 2, 4):
            cpu, wall = per_cpu_second(threads)
            print(f"{threads} at once: {cpu:5.1f} verifications/CPU-s, {wall:5.1f}/s")


if __name__ == "__main__":
    main()
