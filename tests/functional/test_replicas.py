"""Several stateless replicas over one PostgreSQL and one Redis: a sign-in on one replica is a
single sign-on session on the other, a code issued by one is redeemed at the other (once), and a
key rotation done with the command reaches both without a restart."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import postgres_redis_env
from tests.functional.browser_client import AuthorizationRun, Browser, callback_params, sign_in
from tests.functional.helpers import call_idp, running_server

PASSWORD = "một câu mật khẩu dài đủ dùng"
SECRET = "replica-portal-secret-0123456789-abcdefghij"


@pytest.fixture(scope="module")
def replicas(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict]]:
    kek = secrets.token_urlsafe(32)
    env = {**postgres_redis_env(request), "IDP_KEY_ENCRYPTION_KEY": kek,
           "IDP_DATA_DIR": str(tmp_path_factory.mktemp("replicas")), "IDP_KEY_REFRESH_SECONDS": "1",
           "IDP_PAIRWISE_SALT": "replica-test-salt-0123456789"}
    assert call_idp(["db", "upgrade"], env).returncode == 0
    assert call_idp(["clients", "add", "portal", "--secret-stdin", "--redirect-uri", "http://127.0.0.1:9/portal/cb"],
                   env, stdin=SECRET + "\n").returncode == 0
    assert call_idp(["users", "add", "canbo03", "--password-stdin"], env, stdin=PASSWORD + "\n").returncode == 0
    # Both replicas serve one issuer (behind a load balancer they would share its name).
    with running_server(env) as first, running_server(env) as second:
        yield first, second, env


def test_sessions_and_codes_cross_replicas(replicas: tuple[str, str, dict]) -> None:
    first, second, _ = replicas
    browser = Browser(first)
    run = AuthorizationRun("portal", "http://127.0.0.1:9/portal/cb")
    code = sign_in(browser, run, "canbo03", PASSWORD)["code"]
    # The session cookie works on the other replica: a silent authorization succeeds there.
    other = Browser(second)
    other.http.cookies = browser.http.cookies
    silent = AuthorizationRun("portal", "http://127.0.0.1:9/portal/cb", extra={"prompt": "none"})
    assert "code" in callback_params(other.http.get("/authorize", params=silent.params()))
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
            "code_verifier": run.verifier}
    assert httpx.post(second + "/token", data=data, auth=("portal", SECRET)).status_code == 200
    replay = httpx.post(first + "/token", data=data, auth=("portal", SECRET))
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    browser.close()
    other.close()


def test_rotation_reaches_every_replica(replicas: tuple[str, str, dict]) -> None:
    first, second, env = replicas
    before = {k["kid"] for k in httpx.get(second + "/jwks").json()["keys"]}
    rotated = call_idp(["keys", "rotate", "--alg", "ES256", "--force"], env)
    assert rotated.returncode == 0, rotated.stderr
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        after = [{k["kid"] for k in httpx.get(base + "/jwks").json()["keys"]} for base in (first, second)]
        if all(kids != before for kids in after):
            break
        time.sleep(0.5)
    assert all(kids != before for kids in after), "a replica kept the old key set"
