"""schemathesis against a running server over every protocol endpoint in docs/openapi/protocol.yaml
(discovery, authorize, token, userinfo, introspect, revoke, PAR, register, logout), with each
documented content type and real credentials where an endpoint needs them: never a 5xx, never a
stack trace, each answer in bounded time. The description must name every endpoint discovery lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.functional.browser_client import AuthorizationRun, Browser, sign_in
from tests.functional.helpers import call_idp, running_server

DESCRIPTION = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "protocol.yaml"
PASSWORD = "một câu mật khẩu dài đủ dùng"
SECRET = "fuzz-portal-secret-0123456789-abcdefghijkl"
REDIRECT_URI = "http://127.0.0.1:9/portal/cb"
#: Generated requests per operation (and content type): the whole run stays within seconds.
EXAMPLES = 20
SLOWEST_SECONDS = 10.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    env = {"IDP_DATA_DIR": str(tmp_path_factory.mktemp("fuzz") / "var"), "IDP_REGISTRATION_ENABLED": "true",
           "IDP_PASSWORD_HASH_MEMORY_KIB": "8", "IDP_PASSWORD_HASH_TIME_COST": "1"}
    assert call_idp(["clients", "add", "portal", "--secret-stdin", "--redirect-uri", REDIRECT_URI,
                    "--grant-type", "authorization_code", "--grant-type", "refresh_token",
                    "--grant-type", "client_credentials"], env, stdin=SECRET + "\n").returncode == 0
    assert call_idp(["users", "add", "canbo01", "--password-stdin"], env, stdin=PASSWORD + "\n").returncode == 0
    issued = call_idp(["registration", "token", "--label", "fuzz", "--uses", "1000"], env)
    assert issued.returncode == 0, issued.stderr
    initial_token = issued.stdout.strip().split()[-1]
    with running_server(env) as base:
        browser = Browser(base)
        run = AuthorizationRun("portal", REDIRECT_URI)
        code = sign_in(browser, run, "canbo01", PASSWORD)["code"]
        tokens = httpx.post(base + "/token", data={"grant_type": "authorization_code", "code": code,
                                                   "redirect_uri": REDIRECT_URI, "code_verifier": run.verifier},
                            auth=("portal", SECRET)).json()
        browser.close()
        yield {"base": base, "access_token": tokens["access_token"], "initial_token": initial_token}


def test_description_names_every_discovered_endpoint(server: dict[str, Any]) -> None:
    document = yaml.safe_load(DESCRIPTION.read_text(encoding="utf-8"))
    discovery = httpx.get(server["base"] + "/.well-known/openid-configuration").json()
    endpoints = {value.removeprefix(server["base"]) for key, value in discovery.items()
                 if key.endswith("_endpoint") or key == "jwks_uri"}
    assert endpoints <= set(document["paths"]), endpoints - set(document["paths"])
    assert {"/authorize", "/token", "/userinfo", "/introspect", "/revoke", "/par", "/register",
            "/logout"} <= set(document["paths"])


def _credentials(path: str, server: dict[str, Any]) -> dict[str, str]:
    """What a legitimate caller of ``path`` sends, so the fuzzing reaches past authentication."""
    if path in ("/token", "/par", "/introspect", "/revoke"):
        return {"Authorization": httpx.BasicAuth("portal", SECRET)._auth_header}
    if path == "/userinfo":
        return {"Authorization": f"Bearer {server['access_token']}"}
    if path == "/register":
        return {"Authorization": f"Bearer {server['initial_token']}"}
    return {}


def _fuzz(operation: Any, base: str, headers: dict[str, str], failures: list[str]) -> None:
    """``EXAMPLES`` generated requests to one operation; each 5xx or stack trace noted in ``failures``."""
    from hypothesis import HealthCheck, given, settings

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        response = case.call(base_url=base, headers={**headers, **(case.headers or {})}, timeout=SLOWEST_SECONDS)
        if response.status_code >= 500 or "Traceback" in response.text:
            failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

    call()


def test_schemathesis_finds_no_server_error(server: dict[str, Any]) -> None:
    import schemathesis

    base = server["base"]
    schema = schemathesis.openapi.from_path(str(DESCRIPTION))
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        _fuzz(operation, base, _credentials(operation.path, server), failures)
    document = yaml.safe_load(DESCRIPTION.read_text(encoding="utf-8"))
    assert operations == sum(1 for item in document["paths"].values() for method in item if method != "parameters")
    assert failures == []
    # The server still answers as before.
    assert httpx.get(base + "/userinfo", headers=_credentials("/userinfo", server)).status_code == 200
