"""The ``idp`` command's contract: exit codes, one readable line, no half-written state.

Most tests call the command in this process (``call_idp``: the same ``main``, arguments, environment,
standard streams and exit code); two start it as operators do (``run_idp``), proving the process
itself: its exit status and its one line on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.functional.helpers import call_idp, run_idp


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"IDP_DATA_DIR": str(tmp_path / "var")}


def test_add_list_show_remove_client(env: dict[str, str]) -> None:
    added = call_idp(["clients", "add", "portal", "--redirect-uri", "https://portal.example.vn/cb",
                     "--name", "Cổng dịch vụ công"], env)
    assert added.returncode == 0, added.stderr
    body = json.loads(added.stdout)
    assert body["client_id"] == "portal" and len(body["client_secret"]) >= 40
    assert json.loads(call_idp(["clients", "list"], env).stdout)[0]["client_name"] == "Cổng dịch vụ công"
    assert "client_secret" not in json.loads(call_idp(["clients", "show", "portal"], env).stdout)
    assert call_idp(["clients", "remove", "portal"], env).returncode == 0
    missing = call_idp(["clients", "show", "portal"], env)
    assert missing.returncode == 1 and missing.stderr.strip() == "idp: no client 'portal'"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("/callback", "must be an absolute URI"),
        ("http://rp.example.vn/cb", "must use https"),
        ("https://rp.example.vn/cb#frag", "must not contain a fragment"),
    ],
)
def test_bad_redirect_uri_is_one_line_and_nothing_stored(env: dict[str, str], uri: str, message: str) -> None:
    result = call_idp(["clients", "add", "rp", "--redirect-uri", uri], env)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert json.loads(call_idp(["clients", "list"], env).stdout) == []


def test_loopback_http_redirect_allowed(env: dict[str, str]) -> None:
    result = call_idp(["clients", "add", "dev", "--redirect-uri", "http://127.0.0.1:8080/cb", "--public"], env)
    assert result.returncode == 0, result.stderr
    assert "client_secret" not in json.loads(result.stdout)


def test_duplicate_client_id_refused(env: dict[str, str]) -> None:
    assert call_idp(["clients", "add", "rp", "--redirect-uri", "https://a.example.vn/cb"], env).returncode == 0
    again = call_idp(["clients", "add", "rp", "--redirect-uri", "https://b.example.vn/cb"], env)
    assert again.returncode == 1 and "already exists" in again.stderr
    shown = json.loads(call_idp(["clients", "show", "rp"], env).stdout)
    assert shown["redirect_uris"] == ["https://a.example.vn/cb"]


def test_duplicate_redirect_uri_and_unknown_grant_refused(env: dict[str, str]) -> None:
    dup = call_idp(["clients", "add", "rp", "--redirect-uri", "https://a.example.vn/cb",
                   "--redirect-uri", "https://a.example.vn/cb"], env)
    assert dup.returncode == 1 and "listed twice" in dup.stderr
    grant = call_idp(["clients", "add", "rp", "--redirect-uri", "https://a.example.vn/cb",
                     "--grant-type", "password"], env)
    assert grant.returncode == 1 and "unknown grant type 'password'" in grant.stderr


def test_unreachable_database_is_one_line_without_password(env: dict[str, str]) -> None:
    bad = env | {"IDP_DATABASE_URL": "postgresql://idp:hunter2secret@127.0.0.1:1/idp"}
    result = run_idp(["clients", "list"], bad)
    assert result.returncode == 1
    assert result.stderr.startswith("idp: database unreachable")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "hunter2secret" not in result.stderr


def test_invalid_setting_named(env: dict[str, str]) -> None:
    result = call_idp(["clients", "list"], env | {"IDP_ISSUER": "http://idp.example.vn"})
    assert result.returncode == 1
    assert result.stderr.strip() == "idp: invalid setting IDP_ISSUER: must use https unless the host is loopback"


def test_usage_error_exits_2(env: dict[str, str]) -> None:
    assert run_idp(["clients", "frobnicate"], env).returncode == 2
    assert run_idp([], env).returncode == 2


def test_users_add_checks_password_policy(env: dict[str, str]) -> None:
    weak = call_idp(["users", "add", "canbo01", "--password-stdin"], env, stdin="password123\n")
    assert weak.returncode == 1 and "at least 15" in weak.stderr
    ok = call_idp(["users", "add", "canbo01", "--password-stdin", "--name", "Trần Thị Bình"], env,
                 stdin="một câu mật khẩu dài đủ dùng\n")
    assert ok.returncode == 0, ok.stderr
    listed = json.loads(call_idp(["users", "list"], env).stdout)
    assert listed == [{"username": "canbo01", "name": "Trần Thị Bình", "email": None, "disabled": False}]


def test_db_upgrade_on_postgres(postgres_url: str) -> None:
    env = {"IDP_DATABASE_URL": postgres_url}
    not_yet = call_idp(["clients", "list"], env)
    assert not_yet.returncode == 1 and "idp db upgrade" in not_yet.stderr
    upgraded = call_idp(["db", "upgrade"], env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert json.loads(call_idp(["clients", "list"], env).stdout) == []
