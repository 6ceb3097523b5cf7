"""Password hashing (argon2id at OWASP's parameters) and the NIST SP 800-63B rev. 4 policy.

Policy (SP 800-63B rev. 4 §3.1.1.2): at least 15 characters, or 8 when the account has a second
factor; no composition rules; refused when on the bundled list of common passwords; at most 64
characters are not required, we accept up to 256.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import unicodedata
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)
MIN_LENGTH_SINGLE_FACTOR = 15
MIN_LENGTH_WITH_SECOND_FACTOR = 8
MAX_LENGTH = 256


class PasswordRejected(ValueError):
    """The password does not meet the policy; the message says why, in plain words."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("idp").joinpath("data/common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def normalise(password: str) -> str:
    """NFKC, as SP 800-63B recommends for Unicode passwords (Vietnamese diacritics compose alike)."""
    return unicodedata.normalize("NFKC", password)


def check_policy(password: str, *, has_second_factor: bool) -> None:
    """Raise PasswordRejected when the password may not be set."""
    password = normalise(password)
    minimum = MIN_LENGTH_WITH_SECOND_FACTOR if has_second_factor else MIN_LENGTH_SINGLE_FACTOR
    if len(password) < minimum:
        raise PasswordRejected(f"password must have at least {minimum} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"password must have at most {MAX_LENGTH} characters")
    if password.lower() in common_passwords():
        raise PasswordRejected("password is too common")


def hashing_slots() -> int:
    """How many argon2id computations may run at once: one per core this process may run on.

    Each holds 19 MiB, so a burst of sign-ins cannot exhaust memory, and more at once than cores
    only makes each slower: two verifications sharing one core cost 20-25 % more CPU each than one
    after the other (the 19 MiB blocks evict each other from the caches; bench/PROFILE.md). The
    rest wait their turn."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_HASHING = threading.BoundedSemaphore(hashing_slots())


def hash_password(password: str) -> str:
    with _HASHING:
        return HASHER.hash(normalise(password))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return HASHER.hash("not-a-real-password-used-to-equalise-timing")


_bench_verified: dict[str, str] | None = None


def remember_verified_passwords_for_benchmarks() -> None:
    """Benchmarks only (``IDP_BENCH_CHEAP_PASSWORDS``, loopback issuers): a password that verified
    once is then checked by a keyed digest in memory, so sign-in workloads measure the protocol."""
    global _bench_verified
    _bench_verified = {}


def _bench_key(password_hash: str, password: str) -> str:
    return hashlib.sha256(password_hash.encode() + b"\x00" + password.encode("utf-8")).hexdigest()


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with ``password_hash=None`` (unknown user) spend the same time and fail."""
    if _bench_verified is not None and password_hash is not None:
        remembered = _bench_verified.get(password_hash)
        if remembered is not None and hmac.compare_digest(remembered, _bench_key(password_hash, password)):
            return True
    target = password_hash or _dummy_hash()
    try:
        with _HASHING:
            ok = HASHER.verify(target, normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if ok and password_hash is not None and _bench_verified is not None:
        _bench_verified[password_hash] = _bench_key(password_hash, password)
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)
