"""Policies through the admin API on a running server with a policy folder: a new version put in
force changes what a sign-in may use at once, a rollback restores the one before; both audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from policies.policy_set import BUILTIN_DEFAULT
from tests.functional.browser_client import AuthorizationRun, Browser
from tests.functional.helpers import call_idp, running_server
from tests.functional.test_admin_api import BOT_SECRET, client_token

CLOSED = "version: 1\nclient_id: portal\nadapters: []\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Path]]:
    root = Path(tmp_path_factory.mktemp("admin-policies"))
    folder = root / "policies"
    folder.mkdir()
    (folder / "default.yaml").write_text(BUILTIN_DEFAULT.read_text(encoding="utf-8"), encoding="utf-8")
    env = {"IDP_DATA_DIR": str(root / "var"), "IDP_POLICIES_DIR": str(folder)}
    assert call_idp(["clients", "add", "portal", "--public", "--redirect-uri", "http://127.0.0.1:9/portal/cb"],
                   env).returncode == 0
    assert call_idp(["clients", "add", "policy-bot", "--secret-stdin", "--grant-type", "client_credentials",
                    "--scope", "admin:policies"], env, stdin=BOT_SECRET + "\n").returncode == 0
    with running_server(env) as base:
        yield base, env, folder


def login_form_shown(base: str) -> bool:
    browser = Browser(base)
    run = AuthorizationRun("portal", "http://127.0.0.1:9/portal/cb")
    page = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    browser.close()
    return page.status_code == 200 and 'name="password"' in page.text


def test_activate_and_roll_back_over_http(server: tuple[str, dict[str, str], Path]) -> None:
    base, env, folder = server
    token = client_token(base, "policy-bot", BOT_SECRET, "admin:policies")
    headers = {"Authorization": f"Bearer {token}"}
    assert login_form_shown(base)
    default_digest = httpx.get(base + "/admin/policies/portal", headers=headers).json()["digest"]

    bad = httpx.post(base + "/admin/policies/portal/activate", headers=headers,
                     json={"document": "version: 1\nclient_id: portal\nadapters: [nowhere]\n"})
    assert bad.status_code == 400 and "adapters[0]" in bad.json()["error_description"]
    assert not (folder / "portal.yaml").exists()

    activated = httpx.post(base + "/admin/policies/portal/activate", headers=headers, json={"document": CLOSED})
    assert activated.status_code == 200, activated.text
    assert activated.json()["before"] is None and len(activated.json()["after"]) == 64
    assert httpx.get(base + "/admin/policies/portal", headers=headers).json()["document"]["adapters"] == []
    assert not login_form_shown(base)  # no sign-in source left for portal

    back = httpx.post(base + "/admin/policies/portal/rollback", headers=headers)
    assert back.status_code == 200 and back.json() == {"name": "portal", "before": activated.json()["after"],
                                                       "after": None}
    assert httpx.get(base + "/admin/policies/portal", headers=headers).json()["digest"] == default_digest
    assert login_form_shown(base)
    nothing = httpx.post(base + "/admin/policies/portal/rollback", headers=headers)
    assert nothing.status_code == 409 and nothing.json()["error"] == "conflict"

    exported = call_idp(["audit", "export", "--type", "admin.action"], env)
    actions = [json.loads(line)["details"] for line in exported.stdout.splitlines() if line.strip()]
    changes = [a for a in actions if a["action"] in ("policy.activated", "policy.rolled_back")]
    assert [(a["action"], a["before"], a["after"]) for a in changes] == [
        ("policy.activated", None, activated.json()["after"]),
        ("policy.rolled_back", activated.json()["after"], None)]
    assert all(a["actor"] == "client:policy-bot" for a in changes)
