"""NIST SP 800-63B rev. 4 password policy and argon2id hashing."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from idp.accounts.passwords import PasswordRejected, check_policy, hash_password, hashing_slots, verify_password
from idp.accounts.service import authenticate_local, create_local_account


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


def test_benchmark_password_memory_keeps_wrong_passwords_out(monkeypatch) -> None:
    import idp.accounts.passwords as passwords
    from idp.settings import SettingsError, load_settings

    monkeypatch.setattr(passwords, "_bench_verified", None)
    hashed = hash_password("một câu mật khẩu dài đủ dùng")
    passwords.remember_verified_passwords_for_benchmarks()
    assert verify_password(hashed, "một câu mật khẩu dài đủ dùng")  # argon2id once
    assert verify_password(hashed, "một câu mật khẩu dài đủ dùng")  # then remembered
    assert not verify_password(hashed, "một câu mật khẩu dài đủ dùnG")
    assert not verify_password(None, "một câu mật khẩu dài đủ dùng")
    with pytest.raises(SettingsError, match="loopback"):
        load_settings(bench_cheap_passwords=True, issuer="https://sso.example.gov.vn")


def test_hashing_runs_one_at_a_time_per_core_the_process_may_use() -> None:
    """Pinned to one core (taskset, a cpuset), the server verifies one password at a time."""
    probe = "from idp.accounts.passwords import hashing_slots; print(hashing_slots())"
    pinned = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert pinned.stdout.strip() == "1"
    assert hashing_slots() == len(os.sched_getaffinity(0))
