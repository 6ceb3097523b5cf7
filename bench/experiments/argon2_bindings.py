"""argon2id verifications per CPU-second of one thread: argon2-cffi against PyNaCl (libsodium), at the
provider's default OWASP parameters (m=19 MiB, t=2, p=1), on the same PHC string.

    taskset -c 1 .venv/bin/python bench/experiments/argon2_bindings.py [seconds per round]

Each binding verifies in a tight loop for the given CPU time (default 3 s), twice, interleaved, so
that a neighbour's load touches both alike; the best round of each is printed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from argon2 import PasswordHasher
from nacl import pwhash

PASSWORD = b"correct horse battery staple 123"
CFFI = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)
STORED = CFFI.hash(PASSWORD)


def rate(verify: Callable[[], object], seconds: float) -> float:
    verify()
    start, count = time.process_time(), 0
    while time.process_time() - start < seconds:
        verify()
        count += 1
    return count / (time.process_time() - start)


def main(seconds: float) -> None:
    bindings: dict[str, Callable[[], object]] = {
        "argon2-cffi": lambda: CFFI.verify(STORED, PASSWORD),
        "pynacl (libsodium)": lambda: pwhash.argon2id.verify(STORED.encode(), PASSWORD),
    }
    best = dict.fromkeys(bindings, 0.0)
    for _ in range(2):
        for name, verify in bindings.items():
            best[name] = max(best[name], rate(verify, seconds))
    for name, value in best.items():
        print(f"{name:20} {value:6.1f} verifications per CPU-second")
    print(f"ratio pynacl / argon2-cffi: {best['pynacl (libsodium)'] / best['argon2-cffi']:.2f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
