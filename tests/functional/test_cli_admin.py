"""The administrator's verbs of the ``idp`` command: ``clients update|set-jwks|disable|enable|
rotate-secret``, ``users disable|enable|reset-password|reset-mfa``, ``sessions revoke``; each
change audited with the operator's name (``--operator`` or ``IDP_OPERATOR``), a refused one
changing nothing. The command runs in this process (``call_idp``); tests/functional/test_cli.py
runs it as operators do, in a process of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.functional.helpers import call_idp

PASSWORD = "một câu mật khẩu dài đủ dùng"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {"IDP_DATA_DIR": str(tmp_path / "var")}
    added = call_idp(["clients", "add", "portal", "--redirect-uri", "https://portal.example.vn/cb",
                     "--name", "Cổng dịch vụ công"], env)
    assert added.returncode == 0, added.stderr
    user = call_idp(["users", "add", "canbo01", "--password-stdin", "--name", "Trần Thị Bình"], env,
                   stdin=PASSWORD + "\n")
    assert user.returncode == 0, user.stderr
    return env


def events(env: dict[str, str], type_: str) -> list[dict]:
    exported = call_idp(["audit", "export", "--type", type_], env)
    assert exported.returncode == 0, exported.stderr
    return [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]


def show(env: dict[str, str]) -> dict:
    return json.loads(call_idp(["clients", "show", "portal"], env).stdout)


def test_update_changes_fields_and_records_operator(env: dict[str, str]) -> None:
    result = call_idp(["clients", "update", "portal", "--redirect-uri", "https://portal.example.vn/cb2",
                      "--name", "Cổng mới", "--operator", "Nguyễn Văn An"], env)
    assert result.returncode == 0, result.stderr
    assert show(env)["redirect_uris"] == ["https://portal.example.vn/cb2"]
    [event] = events(env, "client.changed")
    assert event["details"]["actor"] == "Nguyễn Văn An"
    assert event["details"]["before"] == {"client_name": "Cổng dịch vụ công",
                                          "redirect_uris": ["https://portal.example.vn/cb"]}
    assert event["details"]["after"]["redirect_uris"] == ["https://portal.example.vn/cb2"]


def test_refused_update_is_one_line_and_changes_nothing(env: dict[str, str]) -> None:
    before = show(env)
    result = call_idp(["clients", "update", "portal", "--redirect-uri", "http://portal.example.vn/cb",
                      "--name", "Không được"], env)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "must use https" in result.stderr
    assert show(env) == before and events(env, "client.changed") == []


def test_private_key_jwt_without_keys_names_what_is_missing(env: dict[str, str]) -> None:
    result = call_idp(["clients", "add", "pkj", "--auth-method", "private_key_jwt", "--redirect-uri",
                      "https://a.example.vn/cb"], env)
    assert result.returncode == 1
    assert "jwks" in result.stderr and "jwks_uri" in result.stderr and "--jwks-uri URL" in result.stderr
    assert call_idp(["clients", "show", "pkj"], env).returncode == 1


def test_set_jwks_disable_enable_rotate(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}', encoding="utf-8")
    refused = call_idp(["clients", "set-jwks", "portal", "--jwks", str(bad)], env)
    assert refused.returncode == 1 and "jwks" in refused.stderr and "jwks" not in show(env)
    assert call_idp(["clients", "set-jwks", "portal", "--jwks-uri", "https://portal.example.vn/jwks"],
                   env).returncode == 0
    assert show(env)["jwks_uri"] == "https://portal.example.vn/jwks"
    assert call_idp(["clients", "disable", "portal"], env | {"IDP_OPERATOR": "tran.b"}).returncode == 0
    assert show(env)["disabled"] is True
    assert call_idp(["clients", "enable", "portal"], env).returncode == 0
    assert "disabled" not in show(env)
    rotated = call_idp(["clients", "rotate-secret", "portal"], env)
    assert rotated.returncode == 0, rotated.stderr
    assert len(json.loads(rotated.stdout)["client_secret"]) >= 40
    changes = events(env, "client.changed")
    assert [e["details"]["action"] for e in changes] == [
        "client.updated", "client.disabled", "client.enabled", "client.secret_rotated"]
    assert changes[1]["details"]["actor"] == "tran.b"
    assert changes[3]["details"]["secret_changed"] is True
    assert "client_secret" not in json.dumps(changes) and "sha256$" not in json.dumps(changes)


def test_user_verbs(env: dict[str, str]) -> None:
    disabled = call_idp(["users", "disable", "canbo01", "--operator", "an"], env)
    assert disabled.returncode == 0 and json.loads(disabled.stdout)["disabled"] is True
    assert json.loads(disabled.stdout)["sessions_ended"] is None and "IDP_REDIS_URL" in disabled.stderr
    assert call_idp(["users", "enable", "canbo01"], env).returncode == 0
    short = call_idp(["users", "reset-password", "canbo01", "--password-stdin"], env, stdin="ngắn\n")
    assert short.returncode == 1 and "at least" in short.stderr
    reset = call_idp(["users", "reset-password", "canbo01"], env)
    assert reset.returncode == 0 and len(json.loads(reset.stdout)["password"]) >= 20
    mfa = call_idp(["users", "reset-mfa", "canbo01"], env)
    assert mfa.returncode == 0 and json.loads(mfa.stdout)["second_factor"] is False
    missing = call_idp(["users", "disable", "nobody"], env)
    assert missing.returncode == 1 and missing.stderr.strip() == "idp: no local account 'nobody'"
    changed = events(env, "account.changed")
    assert [e["details"]["action"] for e in changed] == ["account.disabled", "account.enabled", "password.reset"]
    assert changed[0]["details"] == {"action": "account.disabled", "actor": "an", "before": {"disabled": False},
                                     "after": {"disabled": True}}
    assert json.loads(reset.stdout)["password"] not in json.dumps(changed)
    assert events(env, "mfa.totp.removed")[0]["details"]["action"] == "mfa.reset"


def test_sessions_revoke_without_the_shared_store(env: dict[str, str]) -> None:
    """Without Redis the command still revokes what the database holds and says what it could not
    reach (tests/functional/test_admin_revocation.py: its logout tokens)."""
    result = call_idp(["sessions", "revoke", "--person", "canbo01", "--operator", "an"], env)
    assert result.returncode == 0, result.stderr
    assert "IDP_REDIS_URL is unset" in result.stderr
    assert json.loads(result.stdout) | {"subject_id": None} == {
        "subject_id": None, "sessions_ended": 0, "grants_revoked": 0, "backchannel_logouts": 0}
    [event] = events(env, "admin.action")
    assert event["details"]["action"] == "person.revoke_all" and event["details"]["actor"] == "an"
    missing = call_idp(["sessions", "revoke", "--person", "nobody"], env)
    assert missing.returncode == 1 and "nobody" in missing.stderr


def test_audit_commands_record_the_operator(env: dict[str, str]) -> None:
    signed = call_idp(["audit", "checkpoint", "--operator", "Võ Thị Em"], env)
    assert signed.returncode == 0, signed.stderr
    assert events(env, "admin.action")[-1]["username"] == "Võ Thị Em"


def test_key_commands_record_the_operator(env: dict[str, str]) -> None:
    assert call_idp(["keys", "list"], env).returncode == 0  # publishes the next keys
    rotated = call_idp(["keys", "rotate", "--force", "--operator", "Đỗ Văn Giang"], env)
    assert rotated.returncode == 0, rotated.stderr
    old_kid = json.loads(rotated.stdout)["retired"]  # "--": a kid (base64url thumbprint) may begin with "-"
    retired = call_idp(["keys", "retire", "--operator", "Đỗ Văn Giang", "--", old_kid], env)
    assert retired.returncode == 0, retired.stderr
    assert events(env, "key.rotated")[-1]["details"]["actor"] == "Đỗ Văn Giang"
    assert events(env, "key.retired")[-1]["details"]["actor"] == "Đỗ Văn Giang"


def test_update_claim_names(env: dict[str, str]) -> None:
    portal = call_idp(["clients", "update", "portal", "--claim-names", "dvcqg", "--operator", "an"], env)
    assert portal.returncode == 0, portal.stderr
    assert show(env)["claim_names"] == "dvcqg"
    assert call_idp(["clients", "update", "portal", "--claim-names", "standard"], env).returncode == 0
    assert "claim_names" not in show(env)
    unknown = call_idp(["clients", "update", "portal", "--claim-names", "other"], env)
    assert unknown.returncode == 2 and "claim_names" not in show(env)
    changed = [e["details"] for e in events(env, "client.changed")]
    assert changed[0]["actor"] == "an" and changed[0]["after"]["claim_names"] == "dvcqg"
    assert changed[1]["before"] == {"claim_names": "dvcqg"} and changed[1]["after"] == {"claim_names": None}
