"""The benchmark harness's pure parts: wrk output, percentiles, ratios, the login form filler.

No load is generated here (the benchmark is never part of the test suite).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.harness.backends import BenchDatabase, BenchRedis, key_family
from bench.harness.forms import login_form
from bench.harness.http import CookieJar, basic_auth
from bench.harness.procs import cpu_seconds, process_tree
from bench.harness.report import Row, medians, rounds_table, session_bytes, system_table, targets
from bench.harness.stats import percentile, ratio
from bench.harness.workloads import EXPECTED_ANSWER, Measurement
from bench.harness.wrk import WrkRequest, lua_script, parse_output
from tests.conftest import POSTGRES_URL

WRK_SAMPLE = """Running 10s test @ http://127.0.0.1:8711/jwks
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.21ms  812.00us  21.40ms   91.20%
    Req/Sec    15.61k     1.02k   17.10k    73.00%
  Latency Distribution
     50%    3.05ms
     75%    3.40ms
     90%    3.90ms
     99%    6.12ms
  155321 requests in 10.00s, 98.12MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  15530.81
Transfer/sec:      9.81MB
"""


def test_wrk_output_is_parsed_into_rate_and_latency_percentiles() -> None:
    result = parse_output(WRK_SAMPLE)
    assert result.requests == 155321
    assert result.seconds == pytest.approx(10.0)
    assert result.requests_per_second == pytest.approx(15530.81)
    assert result.p50 == pytest.approx(0.00305)
    assert result.p99 == pytest.approx(0.00612)
    assert result.non_2xx_3xx == 7
    assert result.socket_errors == 3


def test_wrk_output_in_microseconds_and_without_error_lines() -> None:
    sample = WRK_SAMPLE.replace("3.05ms", "950.00us").replace("6.12ms", "1.20s")
    sample = "\n".join(line for line in sample.splitlines() if "errors" not in line and "Non-2xx" not in line)
    result = parse_output(sample)
    assert result.p50 == pytest.approx(0.00095)
    assert result.p99 == pytest.approx(1.2)
    assert (result.non_2xx_3xx, result.socket_errors) == (0, 0)


def test_truncated_wrk_output_is_refused() -> None:
    with pytest.raises(ValueError, match="wrk output"):
        parse_output("Running 10s test @ http://127.0.0.1:1/\n")


def test_lua_script_quotes_body_and_headers() -> None:
    script = lua_script(WrkRequest("POST", "/token", (("Authorization", 'Basic "x"'),), "a=1&b=\\"))
    assert 'wrk.method = "POST"' in script
    assert 'wrk.body = "a=1&b=\\\\"' in script
    assert 'wrk.headers["Authorization"] = "Basic \\"x\\""' in script


def test_percentile_is_nearest_rank() -> None:
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert percentile(values, 50) == pytest.approx(0.050)
    assert percentile(values, 99) == pytest.approx(0.099)
    assert percentile([], 99) == 0.0


def _measurement(server: str, units: int, cpu: float, seconds: float = 10.0, p99: float = 0.02) -> Measurement:
    return Measurement(server, "jwks", "request", seconds, cpu, units, units, 0.01, p99, 0.01, p99, 0, None, 0, 0)


def test_ratios_compare_work_per_cpu_second_and_per_wall_second() -> None:
    row = Row("jwks", _measurement("ours", 30_000, cpu=5.0), _measurement("peer", 40_000, cpu=10.0))
    assert row.cpu_ratio == pytest.approx(1.5)  # 6000 vs 4000 per CPU-second
    assert row.rate_ratio == pytest.approx(0.75)  # 3000 vs 4000 per second
    assert ratio(1.0, 0.0) is None and ratio(None, 2.0) is None


def test_whole_system_ratio_adds_each_sides_backends() -> None:
    ours, peer = _measurement("ours", 30_000, cpu=5.0), _measurement("peer", 40_000, cpu=8.0)
    ours.backend_cpu_seconds, peer.backend_cpu_seconds = 5.0, 2.0  # PostgreSQL + Redis; Redis
    row = Row("jwks", ours, peer)
    assert row.cpu_ratio == pytest.approx(1.2)  # 6000 vs 5000 per CPU-second of the server alone
    assert row.system_ratio == pytest.approx(0.75)  # 3000 vs 4000 per CPU-second of the whole system
    [line] = targets([row], argon2_limit=None)
    assert "whole system ≥ 1.0× — **NOT met** (0.75×)" in line
    assert "| **0.75×** |" in system_table([row])[2]


def test_backend_processes_are_the_postmaster_and_the_redis_server() -> None:
    postmaster = BenchDatabase("test", POSTGRES_URL).server_pid()
    assert len(process_tree(postmaster)) > 3  # backends, WAL writer, checkpointer...
    assert b"postgres" in Path(f"/proc/{postmaster}/cmdline").read_bytes()
    redis_server = BenchRedis(0, "unused:").server_pid()
    assert b"redis-server" in Path(f"/proc/{redis_server}/cmdline").read_bytes()
    assert cpu_seconds(redis_server) > 0 and os.getpid() not in (postmaster, redis_server)


def test_no_ratio_when_a_side_failed_its_requests() -> None:
    failing = _measurement("ours", 1000, cpu=1.0)
    failing.errors = 900
    row = Row("jwks", failing, _measurement("peer", 1000, cpu=1.0))
    assert row.cpu_ratio is None and row.rate_ratio is None


def test_targets_mark_a_slow_p99_and_a_low_ratio_as_not_met() -> None:
    row = Row("jwks", _measurement("ours", 10_000, cpu=10.0, p99=0.080), _measurement("peer", 20_000, cpu=10.0))
    [line] = targets([row], argon2_limit=None)
    assert line.count("**NOT met**") == 2


def test_session_bytes_come_from_the_session_key_family() -> None:
    m = _measurement("ours", 100, cpu=1.0)
    m.redis_families = {"p:session:*": (100, 80_000), "p:at:*": (100, 60_000)}
    assert session_bytes(m) == pytest.approx(800)


def test_login_form_is_filled_with_hidden_fields_kept() -> None:
    html = """<form method="post" action="/login?x=1"><input type="hidden" name="csrf" value="t0k">
    <input name="username"><input type="password" name="password"><button type="submit">Đăng nhập</button></form>"""
    form = login_form(html)
    assert form is not None and form.action == "/login?x=1"
    assert form.fill("ana", "secret") == [("csrf", "t0k"), ("username", "ana"), ("password", "secret")]


def test_cookie_jar_keeps_and_deletes_cookies() -> None:
    jar = CookieJar()
    jar.update(["sid=abc; Path=/; HttpOnly", "other=1"])
    jar.update(["other=; Max-Age=0"])
    assert jar.header() == "sid=abc"


def test_basic_auth_form_encodes_both_parts() -> None:
    assert basic_auth("a b", "c:d") == "Basic " + __import__("base64").b64encode(b"a+b:c%3Ad").decode()


def test_redis_key_families_hide_random_parts() -> None:
    assert key_family("idp:session:Zx8f0aP1qLm2Rt7uVw3y") == "idp:session:*"
    assert key_family("idp:code:0123abcd-4567") == "idp:code:*"


def test_sign_in_writes_count_per_sign_in_with_the_head_move_shown_apart() -> None:
    ours = _measurement("ours", 500, cpu=5.0)
    ours.workload, ours.unit = "sign_in", "sign-in"
    ours.pg_tables = {"audit_events": 1000, "grants": 500, "refresh_tokens": 500, "audit_chain": 5}
    ours.pg_tuples_written = 2005
    lines = targets([Row("sign_in", ours, _measurement("peer", 500, cpu=1.0))], argon2_limit=None)
    [writes] = [line for line in lines if "database writes" in line]
    assert "— met (4.000 rows written per sign-in, and 0.010 of the audit head's once-a-second move)" in writes
    ours.pg_tables["refresh_tokens"], ours.pg_tuples_written = 550, 2055  # a fifth write for some sign-ins
    [writes] = [line for line in targets([Row("sign_in", ours, _measurement("peer", 500, cpu=1.0))], argon2_limit=None)
                if "database writes" in line]
    assert "**NOT met** (4.100 rows written per sign-in" in writes


@pytest.mark.parametrize(("workload", "body", "real"), [
    ("introspection", {"active": True, "client_id": "rp1", "sub": "s"}, True),
    ("introspection", {"active": False}, False),  # an inactive token costs a server nothing
    ("userinfo", {"sub": "s", "name": "Lan"}, True),
    ("userinfo", {"error": "invalid_token"}, False),
    ("client_credentials", {"access_token": "x", "token_type": "Bearer"}, True),
    ("client_credentials", {"error": "invalid_client"}, False),
    ("jwks", {"keys": []}, False),
])
def test_only_real_answers_are_measured(workload: str, body: dict, real: bool) -> None:
    assert EXPECTED_ANSWER[workload](body) is real


def test_rounds_keep_the_median_window_and_show_every_round() -> None:
    windows = []
    for round_, (ours_cpu, peer_cpu) in enumerate([(10.0, 20.0), (5.0, 25.0), (8.0, 16.0)]):
        for server, cpu in (("ours", ours_cpu), ("peer", peer_cpu)):
            m = _measurement(server, 1000, cpu)  # 1000 units: 100, 200, 125 / 50, 40, 62.5 per CPU-s
            m.round = round_
            windows.append(m)
    chosen = medians(windows)
    assert sorted((m.server, m.round) for m in chosen) == [("ours", 2), ("peer", 0)]  # 125 and 50 per CPU-s
    table = rounds_table(windows)
    assert table[2] == "| jwks | 100, 200, 125 | 50, 40, 62 | 2.00×, 5.00×, 2.00× | **2.50×** |"


def test_the_peer_runs_on_redis_unless_asked_for_its_in_memory_adapter() -> None:
    from bench.run import parse_args

    assert parse_args([]).peer_store == "redis"
    assert parse_args(["--peer-store", "memory"]).peer_store == "memory"
