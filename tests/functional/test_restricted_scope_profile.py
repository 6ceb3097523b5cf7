"""A client allowed a restricted ``vn_*`` scope uses the strict profile (PAR, private_key_jwt,
PKCE) whatever ``IDP_STRICT_PROFILE`` says, against a running server: ``idp clients add``,
``POST /register`` and ``PUT /register/{id}`` refuse it otherwise, naming the rule; a weak client
row stored before the rule cannot use a restricted scope at /authorize, /par or /token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.functional.browser_client import AuthorizationRun, Browser
from tests.functional.helpers import call_idp, running_server
from tests.functional.profile_rp import PASSWORD, RpKey, client_assertion, front_channel
from tests.functional.test_registration import assert_refused, code_client, initial_token, register

LEGACY_SECRET = "s3cret-of-a-client-stored-before-the-rule-0123"
RULE = "strict profile"


@dataclass
class RulesServer:
    base: str
    env: dict[str, str]
    keys: dict[str, RpKey]

    def redirect_uri(self, client_id: str) -> str:
        return f"http://127.0.0.1:9/{client_id}/cb"


def _store_rows(env: dict[str, str], keys: dict[str, RpKey]) -> None:
    """Client rows as an older version left them (written to storage directly, past any validator),
    and one client registered the right way."""
    from idp.clients.secrets import hash_secret
    from idp.clients.service import register_client
    from idp.runtime import open_storage
    from idp.settings import Settings
    from idp.storage.models import Client

    settings = Settings(**{name[4:].lower(): value for name, value in env.items()})  # type: ignore[arg-type]
    storage = open_storage(settings, migrate=True)
    scopes = ("openid", "profile", "vn_id")
    grants = ("authorization_code", "refresh_token")
    try:
        storage.clients.add(Client(client_id="legacy-secret", name="Dịch vụ cũ", auth_method="client_secret_basic",
                                   redirect_uris=("http://127.0.0.1:9/legacy-secret/cb",), grant_types=grants,
                                   scopes=scopes, secret_hash=hash_secret(LEGACY_SECRET)))
        storage.clients.add(Client(client_id="legacy-nopar", name="Dịch vụ cũ", auth_method="private_key_jwt",
                                   redirect_uris=("http://127.0.0.1:9/legacy-nopar/cb",), grant_types=grants,
                                   scopes=scopes, extra={"jwks": {"keys": [keys["legacy-nopar"].public_jwk()]}}))
        register_client(storage, "strict-rp", redirect_uris=["http://127.0.0.1:9/strict-rp/cb"], grant_types=grants,
                        auth_method="private_key_jwt", scopes=scopes, name="Dịch vụ đúng quy tắc",
                        extra={"jwks": {"keys": [keys["strict-rp"].public_jwk()]},
                               "require_pushed_authorization_requests": True})
    finally:
        storage.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RulesServer]:
    data = Path(tmp_path_factory.mktemp("rules")) / "var"
    data.mkdir(parents=True)
    env = {"IDP_DATA_DIR": str(data), "IDP_REGISTRATION_ENABLED": "true", "IDP_AUTO_MIGRATE": "true"}
    keys = {name: RpKey() for name in ("legacy-nopar", "strict-rp")}
    _store_rows(env, keys)
    user = call_idp(["users", "add", "canbo01", "--password-stdin", "--name", "Trần Thị Bình"], env,
                   stdin=PASSWORD + "\n")
    assert user.returncode == 0, user.stderr
    with running_server(env) as base:
        yield RulesServer(base, env, keys)


def restricted_client(key: RpKey) -> dict[str, Any]:
    return code_client(key, scope="openid vn_id", require_pushed_authorization_requests=True)


def test_registration_refuses_a_restricted_scope_under_a_weak_profile(server: RulesServer) -> None:
    token = initial_token(server, 1, "--allow-scope", "vn_id")
    key = RpKey()
    assert_refused(register(server, token, code_client(scope="openid vn_id")), RULE, "vn_id", "private_key_jwt")
    assert_refused(register(server, token, code_client(key, scope="openid vn_id")), RULE, "vn_id",
                   "require_pushed_authorization_requests")
    created = register(server, token, restricted_client(key))
    assert created.status_code == 201, created.text
    assert created.json()["scope"] == "openid vn_id"


def test_a_restricted_scope_needs_an_initial_access_token_that_allows_it(server: RulesServer) -> None:
    plain = initial_token(server)
    metadata = code_client(RpKey(), scope="openid vn_id", require_pushed_authorization_requests=True)
    assert_refused(register(server, plain, metadata), "vn_id", "initial access token")
    assert_refused(register(server, initial_token(server, 1, "--allow-scope", "vn_eid"), metadata), "vn_id")
    not_restricted = call_idp(["registration", "token", "--label", "tỉnh-test", "--allow-scope", "profile"], server.env)
    assert not_restricted.returncode == 1 and "restricted vn_* scopes only" in not_restricted.stderr


def test_an_update_cannot_weaken_a_client_with_a_restricted_scope(server: RulesServer) -> None:
    key = RpKey()
    token = initial_token(server, 1, "--allow-scope", "vn_id")
    created = register(server, token, restricted_client(key))
    assert created.status_code == 201, created.text
    body = created.json()
    uri, auth = body["registration_client_uri"], {"Authorization": f"Bearer {body['registration_access_token']}"}
    weakened = httpx.put(uri, headers=auth, json={**code_client(key, scope="openid vn_id"),
                                                  "client_id": body["client_id"]})
    assert_refused(weakened, RULE, "vn_id")
    assert httpx.get(uri, headers=auth).json()["require_pushed_authorization_requests"] is True

    secret_client = register(server, initial_token(server, 1, "--allow-scope", "vn_id"), code_client())
    assert secret_client.status_code == 201, secret_client.text
    other = secret_client.json()
    widened = httpx.put(other["registration_client_uri"], json={**code_client(scope="openid vn_id"),
                                                                "client_id": other["client_id"]},
                        headers={"Authorization": f"Bearer {other['registration_access_token']}"})
    assert_refused(widened, RULE, "vn_id")


def test_idp_clients_add_refuses_a_restricted_scope_under_a_weak_profile(server: RulesServer, tmp_path: Path) -> None:
    weak = call_idp(["clients", "add", "cli-weak", "--secret-stdin", "--redirect-uri", "https://rp.example.vn/cb",
                    "--scope", "openid", "--scope", "vn_eid"], server.env, stdin=LEGACY_SECRET + "\n")
    assert weak.returncode == 1 and RULE in weak.stderr and "vn_eid" in weak.stderr, weak.stderr
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [RpKey().public_jwk()]}))
    base = ["--redirect-uri", "https://rp.example.vn/cb", "--scope", "openid", "--scope", "vn_eid",
            "--auth-method", "private_key_jwt", "--jwks", str(jwks)]
    no_par = call_idp(["clients", "add", "cli-nopar", *base], server.env)
    assert no_par.returncode == 1 and RULE in no_par.stderr and "--require-par" in no_par.stderr, no_par.stderr
    added = call_idp(["clients", "add", "cli-strict", *base, "--require-par"], server.env)
    assert added.returncode == 0, added.stderr
    shown = json.loads(added.stdout)
    assert shown["require_pushed_authorization_requests"] is True and shown["scope"] == "openid vn_eid"
    listed = json.loads(call_idp(["clients", "list"], server.env).stdout)
    assert {c["client_id"] for c in listed} >= {"cli-strict"} and "cli-weak" not in {c["client_id"] for c in listed}


def test_a_weak_client_stored_before_the_rule_cannot_use_a_restricted_scope(server: RulesServer) -> None:
    for client_id in ("legacy-secret", "legacy-nopar"):
        run = AuthorizationRun(client_id, server.redirect_uri(client_id), scope="openid vn_id")
        direct = httpx.get(server.base + "/authorize", params=run.params())
        assert direct.status_code in (302, 303), (client_id, direct.text[:500])  # never the sign-in page
        assert direct.headers["location"].startswith(run.redirect_uri + "?error="), direct.headers["location"]
    pushed = httpx.post(server.base + "/par", data=AuthorizationRun(
        "legacy-secret", server.redirect_uri("legacy-secret"), scope="openid vn_id").params(),
        auth=("legacy-secret", LEGACY_SECRET), timeout=30)
    assert pushed.status_code == 401 and pushed.json()["error"] == "invalid_client", pushed.text
    token = httpx.post(server.base + "/token", data={"grant_type": "authorization_code", "code": "x",
                                                     "redirect_uri": server.redirect_uri("legacy-secret")},
                       auth=("legacy-secret", LEGACY_SECRET), timeout=30)
    assert token.status_code == 401 and token.json()["error"] == "invalid_client", token.text


def test_a_strict_client_with_a_restricted_scope_signs_in_through_par(server: RulesServer) -> None:
    run = AuthorizationRun("strict-rp", server.redirect_uri("strict-rp"), scope="openid vn_id")
    direct = httpx.get(server.base + "/authorize", params=run.params())
    assert direct.status_code == 302 and "error=invalid_request" in direct.headers["location"]
    pushed = httpx.post(server.base + "/par", data={**run.params(), **client_assertion(
        server.keys["strict-rp"], "strict-rp", server.base)}, timeout=30)
    assert pushed.status_code == 201, pushed.text
    browser = Browser(server.base)
    try:
        params = front_channel(browser, {"client_id": "strict-rp", "request_uri": pushed.json()["request_uri"]},
                               run.redirect_uri)
    finally:
        browser.close()
    assert params["state"] == run.state and "code" in params
