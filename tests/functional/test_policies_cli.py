"""``idp policies check|explain`` as an operator runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from policies.policy_set import EXAMPLES_DIR
from tests.functional.helpers import call_idp

ISSUER = "https://id.quangnam.example"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"IDP_DATA_DIR": str(tmp_path / "var"), "IDP_ISSUER": ISSUER}


def test_check_accepts_the_shipped_examples(env: dict[str, str]) -> None:
    result = call_idp(["policies", "check", str(EXAMPLES_DIR)], env)
    assert result.returncode == 0, result.stderr
    assert "4 valid policy document(s)" in result.stdout


def test_check_reports_every_invalid_file_with_line_and_field(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    shutil.copytree(EXAMPLES_DIR, folder)
    (folder / "portal.yaml").write_text("version: 1\nclient_id: portal\nadapters: [vneid]\nmfa: yes\n")
    text = (folder / "tax-filing.yaml").read_text().replace("acr: pki-hw", "acr: pki-token")
    (folder / "tax-filing.yaml").write_text(text)
    acr_line = text.splitlines().index("    acr: pki-token") + 1
    result = call_idp(["policies", "check", str(folder)], env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"idp: invalid policy {folder}/portal.yaml, line 4, field mfa: unknown field (a misspelling?)",
        f"idp: invalid policy {folder}/tax-filing.yaml, line {acr_line}, field step_up[0].acr: "
        "unknown acr 'pki-token': expected one of local-basic, local-mfa, vneid-l1, vneid-l2, cccd-chip, "
        "pki-remote, pki-hw",
    ]
    assert "Traceback" not in result.stderr


def test_check_refuses_adapters_that_are_not_configured(env: dict[str, str]) -> None:
    result = call_idp(["policies", "check", str(EXAMPLES_DIR), "--adapter", "local", "--adapter", "vneid"], env)
    assert result.returncode == 1
    assert "no adapter 'dvcqg' is configured" in result.stderr


def test_explain_shows_the_sign_in_and_the_dropped_personal_id(env: dict[str, str]) -> None:
    result = call_idp(["policies", "explain", "library-catalogue", "--dir", str(EXAMPLES_DIR),
                      "--scope", "openid profile vn_id", "--claim", "vn_personal_id"], env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Sign-in with: vneid, dvcqg, local" in out
    assert "at acr local-basic or higher" in out and f"{ISSUER}/acr/local-basic" in out
    assert "scope vn_id: restricted_scope_not_approved (claims verified_claims, vn_personal_id)" in out
    assert "claim vn_personal_id: restricted_scope_not_approved" in out
    assert "claim birthdate: withheld_by_policy" in out


def test_explain_json_for_the_tax_service(env: dict[str, str]) -> None:
    result = call_idp(["policies", "explain", "tax-filing", "--dir", str(EXAMPLES_DIR), "--json",
                      "--scope", "openid vn_id tax:submit"], env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["sign_in"]["required_acr"]["uri"] == f"{ISSUER}/acr/pki-hw"
    assert body["sign_in"]["minimum_acr"]["acr"] == "vneid-l2"
    assert body["sign_in"]["step_up"] == [{"scope": "tax:submit", "within_seconds": 300, "acr": "pki-hw",
                                           "uri": f"{ISSUER}/acr/pki-hw",
                                           "label_vi": "Chữ ký số trên thiết bị (USB token, thẻ thông minh)"}]
    assert body["released"]["restricted"][0]["scope"] == "vn_id"
    assert "vn_personal_id" in body["released"]["claims"]


def test_explain_a_client_without_its_own_policy(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "only-tax"
    folder.mkdir()
    shutil.copy(EXAMPLES_DIR / "tax-filing.yaml", folder)
    result = call_idp(["policies", "explain", "unknown-rp"], env | {"IDP_POLICIES_DIR": str(folder)})
    assert result.returncode == 0, result.stderr
    assert "DENIED: access_denied: no sign-in method is allowed for this client" in result.stdout
    builtin = call_idp(["policies", "explain", "unknown-rp"], env)
    assert "Sign-in with: local" in builtin.stdout and "(default: no policy of its own)" in builtin.stdout
