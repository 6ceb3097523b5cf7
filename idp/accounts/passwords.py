"""Password hashing (argon2id, by default at OWASP's m=19 MiB, t=2) and the NIST SP 800-63B rev. 4 policy.

Policy (SP 800-63B rev. 4 §3.1.1.2): at least 15 characters, or 8 when the account has a second
factor; no composition rules; refused when on the bundled list of common passwords; at most 64
characters are not required, we accept up to 256.
"""

from __future__ import annotations

import os
import threading
import unicodedata
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from nacl import pwhash
from nacl.exceptions import CryptoError

from idp.errors import IdpError

#: OWASP Password Storage Cheat Sheet's argon2id configurations (p=1): the least memory, in KiB, for
#: each number of passes; more than five passes still need 7 MiB. The default is m=19 MiB, t=2.
OWASP_MEMORY_KIB_BY_TIME_COST = {1: 47104, 2: 19456, 3: 12288, 4: 9216, 5: 7168}
DEFAULT_MEMORY_KIB, DEFAULT_TIME_COST = 19456, 2


def meets_owasp(memory_kib: int, time_cost: int) -> bool:
    """Whether argon2id at ``memory_kib`` and ``time_cost`` (p=1) is at least one of OWASP's configurations."""
    return time_cost >= 1 and memory_kib >= OWASP_MEMORY_KIB_BY_TIME_COST.get(time_cost, 7168)


def _hasher(memory_kib: int, time_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1, hash_len=32, salt_len=16)


#: The parameters new hashes are made with (argon2-cffi's hasher: they, and ``needs_rehash``); the
#: hashing itself is libsodium's (PyNaCl), faster on the same core (bench/experiments/argon2_bindings.py)
#: and writing the same PHC strings: ``$argon2id$v=19$m=...,t=...,p=1$<16-byte salt>$<32-byte hash>``.
#: A stored hash is verified at the parameters it carries.
HASHER = _hasher(DEFAULT_MEMORY_KIB, DEFAULT_TIME_COST)

MIN_LENGTH_SINGLE_FACTOR = 15
MIN_LENGTH_WITH_SECOND_FACTOR = 8
MAX_LENGTH = 256


class PasswordRejected(ValueError, IdpError):
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


def _argon2id(password: str) -> str:
    """A new PHC string of argon2id at the configured parameters (libsodium: salt 16, hash 32 bytes)."""
    return pwhash.argon2id.str(password.encode("utf-8"), opslimit=HASHER.time_cost,
                               memlimit=HASHER.memory_cost * 1024).decode("ascii")


def hash_password(password: str) -> str:
    with _HASHING:
        return _argon2id(normalise(password))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _argon2id("not-a-real-password-used-to-equalise-timing")


def configure_hashing(memory_kib: int, time_cost: int) -> None:
    """Hash new passwords (and the unknown-user dummy) at these argon2id parameters from now on.

    Settings check the parameters (``IDP_PASSWORD_HASH_MEMORY_KIB``, ``IDP_PASSWORD_HASH_TIME_COST``:
    below OWASP's configurations only on a loopback issuer). A stored hash made at other parameters
    still verifies, and is replaced at the next successful sign-in (``needs_rehash``)."""
    global HASHER
    if (HASHER.memory_cost, HASHER.time_cost) != (memory_kib, time_cost):
        HASHER = _hasher(memory_kib, time_cost)
        _dummy_hash.cache_clear()


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with ``password_hash=None`` (unknown user) spend the same time and fail."""
    target = password_hash or _dummy_hash()
    try:
        stored = target.encode("ascii")
    except UnicodeEncodeError:  # not a PHC string
        return False
    try:
        with _HASHING:
            ok = pwhash.argon2id.verify(stored, normalise(password).encode("utf-8"))
    except (CryptoError, ValueError, TypeError):  # a wrong password, or a malformed hash
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)
