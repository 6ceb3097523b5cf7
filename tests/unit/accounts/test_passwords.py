"""NIST SP 800-63B rev. 4 password policy and argon2id hashing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from idp.accounts.passwords import (
    DEFAULT_MEMORY_KIB,
    DEFAULT_TIME_COST,
    PasswordRejected,
    check_policy,
    configure_hashing,
    hash_password,
    hashing_slots,
    verify_password,
)
from idp.accounts.service import authenticate_local, create_local_account
from idp.runtime import open_storage
from idp.settings import SettingsError, load_settings


def test_length_depends_on_second_factor() -> None:
    with pytest.raises(PasswordRejected, match="15"):
        check_policy("ngắn-quá-nhé", has_second_factor=False)
    check_policy("ngắn-quá-nhé", has_second_factor=True)
    check_policy("một câu mật khẩu dài đủ dùng", has_second_factor=False)


def test_no_composition_rules_but_common_passwords_refused() -> None:
    check_policy("alllowercaseletterswithoutdigits", has_second_factor=False)
    with pytest.raises(PasswordRejected, match="common"):
        check_policy("password123", has_second_factor=True)
    with pytest.raises(PasswordRejected, match="common"):
        check_policy("MatKhau@123", has_second_factor=True)


def test_hash_is_argon2id_at_owasp_parameters() -> None:
    hashed = hash_password("một câu mật khẩu dài đủ dùng")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(hashed, "một câu mật khẩu dài đủ dùng")
    assert not verify_password(hashed, "một câu mật khẩu dài đủ dùnG")


def test_unicode_forms_are_equivalent() -> None:
    composed = "mật khẩu tiếng việt dài"
    decomposed = "ma\u0323\u0302t kha\u0302\u0309u tie\u0302\u0301ng vie\u0323\u0302t da\u0300i"
    assert verify_password(hash_password(composed), decomposed)


def test_unknown_user_costs_the_same_as_wrong_password(sqlite_storage) -> None:
    create_local_account(sqlite_storage, "canbo01", "một câu mật khẩu dài đủ dùng")
    assert authenticate_local(sqlite_storage, "CanBo01", "một câu mật khẩu dài đủ dùng") is not None

    # Interleaved, fastest of several tries: other processes' noise only ever adds time, and
    # alternating keeps a change of machine load from favouring one side.
    times: dict[str, list[float]] = {"nobody": [], "canbo01": []}
    authenticate_local(sqlite_storage, "nobody", "warm the dummy hash up")
    for _ in range(9):
        for username, samples in times.items():
            start = time.perf_counter()
            assert authenticate_local(sqlite_storage, username, "sai mật khẩu rồi nhé bạn") is None
            samples.append(time.perf_counter() - start)
    unknown, wrong = min(times["nobody"]), min(times["canbo01"])
    assert 0.6 < unknown / wrong < 1.6


@pytest.fixture
def default_hashing() -> Iterator[None]:
    """Whatever a test configures, the next one hashes at the defaults again."""
    yield
    configure_hashing(DEFAULT_MEMORY_KIB, DEFAULT_TIME_COST)


def test_configured_hashing_cost_applies_to_new_hashes_and_replaces_old_ones(tmp_path, default_hashing) -> None:
    """Tests and benchmarks on a loopback issuer may hash cheaply; a hash made at another cost still
    verifies and is replaced at the next sign-in."""
    owasp_hash = hash_password("một câu mật khẩu dài đủ dùng")
    settings = load_settings(issuer="http://127.0.0.1:8711", data_dir=tmp_path, password_hash_memory_kib=8,
                             password_hash_time_cost=1)
    storage = open_storage(settings, migrate=True)
    try:
        account = create_local_account(storage, "canbo01", "một câu mật khẩu dài đủ dùng")
        assert account.password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
        assert not verify_password(account.password_hash, "một câu mật khẩu dài đủ dùnG")
        storage.accounts.update(account.id, lambda a: a.replace(password_hash=owasp_hash))
        assert authenticate_local(storage, "canbo01", "một câu mật khẩu dài đủ dùng") is not None
        rehashed = storage.accounts.get_by_username("canbo01")
        assert rehashed is not None and rehashed.password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    finally:
        storage.close()


@pytest.mark.parametrize(("memory_kib", "time_cost"), [(8, 1), (19455, 2), (47103, 1), (7167, 9)])
def test_hashing_below_owasp_is_refused_on_a_public_issuer(memory_kib: int, time_cost: int) -> None:
    with pytest.raises(SettingsError, match="IDP_PASSWORD_HASH_MEMORY_KIB.*loopback"):
        load_settings(issuer="https://sso.example.gov.vn", password_hash_memory_kib=memory_kib,
                      password_hash_time_cost=time_cost)
    assert load_settings(issuer="https://sso.example.gov.vn", password_hash_memory_kib=47104,
                         password_hash_time_cost=1).password_hash_memory_kib == 47104
    assert load_settings(issuer="https://sso.example.gov.vn", password_hash_memory_kib=7168,
                         password_hash_time_cost=9).password_hash_time_cost == 9
    with pytest.raises(SettingsError, match="IDP_PASSWORD_HASH_MEMORY_KIB"):
        load_settings(issuer="http://127.0.0.1:8711", password_hash_memory_kib=4)


def test_hashing_runs_one_at_a_time_per_core_the_process_may_use() -> None:
    """Pinned to one core (taskset, a cpuset), the server verifies one password at a time."""
    probe = "from idp.accounts.passwords import hashing_slots; print(hashing_slots())"
    pinned = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert pinned.stdout.strip() == "1"
    assert hashing_slots() == len(os.sched_getaffinity(0))


def test_hashes_made_by_argon2_cffi_keep_verifying_and_ours_verify_there() -> None:
    """libsodium (PyNaCl) reads and writes the PHC strings argon2-cffi wrote before it."""
    from argon2 import PasswordHasher

    password = "một câu mật khẩu dài đủ dùng"
    older = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16).hash(password)
    assert verify_password(older, password)
    assert not verify_password(older, password + "!")
    assert PasswordHasher().verify(hash_password(password), password)


@pytest.mark.parametrize("stored", ["", "garbage", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$",
                                    "$argon2id$v=19$m=19456,t=2,p=1$ĐĐĐ$ĐĐĐ", "$2b$12$" + "a" * 53])
def test_a_malformed_or_foreign_stored_hash_refuses_the_password(stored: str) -> None:
    assert not verify_password(stored, "pw")
