"""Dynamic client registration (RFC 7591) and management (RFC 7592) against a running server:
behind an initial access token from `idp registration token`, strict metadata, and a registration
access token that reads, replaces and deletes the registration. An update is validated exactly as
a registration; ``subject_type: public`` needs an initial access token that allows it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from idp.app import create_app
from idp.settings import Settings
from idp.specs.rfc7591_registration import InitialAccessTokens
from tests.functional.helpers import call_idp
from tests.functional.profile_rp import ProfileDeployment, RpKey, client_assertion, profile_deployment

__all__ = ["profile_deployment"]


def initial_token(dep: ProfileDeployment, uses: int = 1, *allow: str) -> str:
    """A new initial access token (``allow``: options of ``idp registration token``, such as
    ``--allow-public-subject``); ``dep`` is any running server with ``base`` and ``env``."""
    issued = call_idp(["registration", "token", "--label", "tỉnh-test", "--uses", str(uses), *allow], dep.env)
    assert issued.returncode == 0, issued.stderr
    return str(json.loads(issued.stdout)["initial_access_token"])


def register(dep: ProfileDeployment, token: str | None, metadata: dict) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(dep.base + "/register", json=metadata, headers=headers, timeout=30)


def code_client(key: RpKey | None = None, **more: Any) -> dict[str, Any]:
    """Metadata of a web client (private_key_jwt when a key is given, else client_secret_basic)."""
    auth: dict[str, Any] = ({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [key.public_jwk()]}}
                            if key else {"token_endpoint_auth_method": "client_secret_basic"})
    return {"client_name": "Cổng dịch vụ xã", "redirect_uris": ["https://rp.example.vn/cb"],
            "post_logout_redirect_uris": ["https://rp.example.vn/bye"], "grant_types": ["authorization_code"],
            "scope": "openid profile", **auth, **more}


def assert_refused(response: httpx.Response, *words: str) -> None:
    """A 400 invalid_client_metadata whose description names each of ``words``."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_client_metadata", body
    for word in words:
        assert word in body["error_description"], body


def m2m_metadata(key: RpKey, **more: object) -> dict:
    return {"client_name": "Hệ thống một cửa xã", "grant_types": ["client_credentials"], "redirect_uris": [],
            "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [key.public_jwk()]},
            "scope": "openid", **more}


def test_discovery_advertises_registration(profile_deployment: ProfileDeployment) -> None:
    meta = httpx.get(profile_deployment.base + "/.well-known/openid-configuration").json()
    assert meta["registration_endpoint"] == profile_deployment.base + "/register"


def test_registration_needs_an_initial_access_token(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    key = RpKey()
    for token in (None, "not-a-token"):
        response = register(dep, token, m2m_metadata(key))
        assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    token = initial_token(dep, uses=1)
    assert register(dep, token, m2m_metadata(key)).status_code == 201
    spent = register(dep, token, m2m_metadata(key))
    assert spent.status_code == 401


def test_metadata_is_validated_strictly(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    token = initial_token(dep, uses=2)
    key = RpKey()
    cases = [
        ({"redirect_uris": ["http://rp.example.vn/cb"], "grant_types": ["authorization_code"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://rp.example.vn/cb#x"], "grant_types": ["authorization_code"]},
         "invalid_redirect_uri"),
        ({"jwks": None, "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
        ({"jwks": {"keys": [key.key.as_dict(private=True)]}}, "invalid_client_metadata"),
        ({"jwks_uri": "http://keys.example.vn/jwks", "jwks": None}, "invalid_client_metadata"),
        ({"scope": "openid vn_id"}, "invalid_client_metadata"),
        ({"response_types": ["token"]}, "invalid_client_metadata"),
        ({"grant_types": ["password"]}, "invalid_client_metadata"),
        ({"strict_profile": True, "token_endpoint_auth_method": "client_secret_basic", "jwks": None},
         "invalid_client_metadata"),
    ]
    for change, error in cases:
        metadata = {k: v for k, v in {**m2m_metadata(key), **change}.items() if v is not None}
        response = register(dep, token, metadata)
        assert response.status_code == 400, (change, response.text)
        assert response.json()["error"] == error, (change, response.text)
    # the refusals spent nothing: both uses are still there
    assert register(dep, token, m2m_metadata(key)).status_code == 201
    assert register(dep, token, m2m_metadata(key)).status_code == 201


def test_registered_client_works_and_manages_itself(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    key = RpKey()
    created = register(dep, initial_token(dep), m2m_metadata(key, dpop_bound_access_tokens=False))
    assert created.status_code == 201, created.text
    body = created.json()
    client_id, access_token = body["client_id"], body["registration_access_token"]
    assert body["token_endpoint_auth_method"] == "private_key_jwt" and "client_secret" not in body
    assert "registration_access_token_hash" not in json.dumps(body)
    assert body["registration_client_uri"] == f"{dep.base}/register/{client_id}"

    issued = httpx.post(dep.base + "/token", data={"grant_type": "client_credentials",
                                                   **client_assertion(key, client_id, dep.base)}, timeout=30)
    assert issued.status_code == 200, issued.text

    uri, auth = body["registration_client_uri"], {"Authorization": f"Bearer {access_token}"}
    assert httpx.get(uri, headers={"Authorization": "Bearer wrong"}).status_code == 401
    read = httpx.get(uri, headers=auth)
    assert read.status_code == 200 and read.json()["client_name"] == "Hệ thống một cửa xã"
    assert "registration_access_token" not in read.json()

    replaced = httpx.put(uri, headers=auth, json={**m2m_metadata(key), "client_id": client_id,
                                                  "client_name": "Một cửa phường"})
    assert replaced.status_code == 200, replaced.text
    assert httpx.get(uri, headers=auth).json()["client_name"] == "Một cửa phường"

    assert httpx.delete(uri, headers=auth).status_code == 204
    assert httpx.get(uri, headers=auth).status_code == 401
    gone = httpx.post(dep.base + "/token", data={"grant_type": "client_credentials",
                                                 **client_assertion(key, client_id, dep.base)}, timeout=30)
    assert gone.status_code == 401


# An update (RFC 7592) is validated exactly as a registration.

@pytest.mark.parametrize("target", ["http://evil.example/", "javascript:alert(document.domain)",
                                    "data:text/html,<script>alert(1)</script>"])
def test_an_update_refuses_unsafe_post_logout_redirect_uris(profile_deployment: ProfileDeployment, target: str) -> None:
    dep = profile_deployment
    created = register(dep, initial_token(dep), code_client(RpKey()))
    assert created.status_code == 201, created.text
    body = created.json()
    uri, auth = body["registration_client_uri"], {"Authorization": f"Bearer {body['registration_access_token']}"}
    replaced = httpx.put(uri, headers=auth, json={**code_client(RpKey()), "client_id": body["client_id"],
                                                  "jwks": body["jwks"], "post_logout_redirect_uris": [target]})
    assert_refused(replaced, "post_logout_redirect_uri")
    assert httpx.get(uri, headers=auth).json()["post_logout_redirect_uris"] == ["https://rp.example.vn/bye"]
    logout = httpx.get(dep.base + "/logout", params={"client_id": body["client_id"],
                                                        "post_logout_redirect_uri": target})
    assert logout.status_code == 400 and "location" not in logout.headers
    assert_refused(register(dep, initial_token(dep), code_client(RpKey(), post_logout_redirect_uris=[target])),
                   "post_logout_redirect_uri")


# A public subject identifier is granted by the initial access token, never chosen by the client alone.

def test_public_subject_type_needs_a_token_that_allows_it(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    assert_refused(register(dep, initial_token(dep), code_client(RpKey(), subject_type="public")),
                   "subject_type", "initial access token")
    pairwise = register(dep, initial_token(dep), code_client(RpKey(), subject_type="pairwise"))
    assert pairwise.status_code == 201, pairwise.text
    body = pairwise.json()
    changed = httpx.put(body["registration_client_uri"], json={
        **code_client(RpKey()), "jwks": body["jwks"], "client_id": body["client_id"], "subject_type": "public"},
        headers={"Authorization": f"Bearer {body['registration_access_token']}"})
    assert_refused(changed, "subject_type")

    allowed = register(dep, initial_token(dep, 1, "--allow-public-subject"),
                       code_client(RpKey(), subject_type="public"))
    assert allowed.status_code == 201, allowed.text
    granted = allowed.json()
    assert granted["subject_type"] == "public"
    kept = httpx.put(granted["registration_client_uri"], json={
        **code_client(RpKey()), "jwks": granted["jwks"], "client_id": granted["client_id"], "subject_type": "public",
        "client_name": "Cổng mới"}, headers={"Authorization": f"Bearer {granted['registration_access_token']}"})
    assert kept.status_code == 200 and kept.json()["subject_type"] == "public", kept.text


# URLs the server will fetch (jwks_uri) or post to (backchannel_logout_uri): an IP literal the
# outbound policy refuses is refused at registration, in any spelling; names are left to the fetch.

REFUSED_HOSTS = ["10.0.0.5", "169.254.169.254", "0x7f.1", "[::ffff:10.0.0.1]", "2130706433"]


@pytest.fixture
def registrar(tmp_path: Path) -> Iterator[Callable[..., tuple[TestClient, Any]]]:
    """An in-process provider with registration on, built with the given settings."""
    opened: list[TestClient] = []

    def build(**settings: Any) -> tuple[TestClient, Any]:
        app = create_app(Settings(data_dir=tmp_path / f"var{len(opened)}", registration_enabled=True, **settings))
        http = TestClient(app)
        http.__enter__()  # the lifespan closes the key ring, the audit writer and the storage
        opened.append(http)
        return http, app.state.provider

    yield build
    for http in opened:
        http.__exit__(None, None, None)


def register_in_process(http: TestClient, provider: Any, metadata: dict) -> httpx.Response:
    token = InitialAccessTokens(provider.storage.db).issue("tỉnh-test")
    return http.post("/register", json=metadata, headers={"Authorization": f"Bearer {token}"})


def fetched_uri_metadata(key: RpKey, field: str, uri: str) -> dict:
    if field == "jwks_uri":
        return {**{k: v for k, v in m2m_metadata(key).items() if k != "jwks"}, "jwks_uri": uri}
    return m2m_metadata(key, backchannel_logout_uri=uri)


@pytest.mark.parametrize("field", ["jwks_uri", "backchannel_logout_uri"])
def test_client_urls_at_internal_ip_literals_are_refused(registrar: Callable[..., tuple[TestClient, Any]],
                                                          field: str) -> None:
    http, provider = registrar()
    key = RpKey()
    for host in REFUSED_HOSTS:
        response = register_in_process(http, provider, fetched_uri_metadata(key, field, f"https://{host}/x"))
        assert response.status_code == 400, (host, response.text)
        body = response.json()
        assert body["error"] == "invalid_client_metadata", body
        assert body["error_description"].startswith(f"{field}: "), body
    assert provider.storage.clients.list() == []
    for uri in ("https://93.184.215.14/x", "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/x",
                "https://rp.example.vn/x"):
        response = register_in_process(http, provider, fetched_uri_metadata(key, field, uri))
        assert response.status_code == 201, (uri, response.text)
        assert provider.storage.clients.get(response.json()["client_id"]).extra[field] == uri


def test_the_refusal_names_the_field_and_the_address(registrar: Callable[..., tuple[TestClient, Any]]) -> None:
    http, provider = registrar()
    response = register_in_process(http, provider, m2m_metadata(RpKey(), backchannel_logout_uri="https://0xa9fea9fe/"))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client_metadata", "error_description":
                               "backchannel_logout_uri: the server will not connect to 0xa9fea9fe, which is "
                               "169.254.169.254 (link-local)"}


def test_loopback_client_urls_follow_the_setting(registrar: Callable[..., tuple[TestClient, Any]]) -> None:
    key = RpKey()
    strict_http, strict = registrar()
    loopback_http, loopback = registrar(allow_loopback_client_urls=True)
    for uri in ("http://127.0.0.1:9/x", "https://0x7f.1/x", "http://2130706433:9/x", "https://[::1]/x",
                "http://[::ffff:127.0.0.1]:9/x", "https://localhost/x"):
        for field in ("jwks_uri", "backchannel_logout_uri"):
            refused = register_in_process(strict_http, strict, fetched_uri_metadata(key, field, uri))
            assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata", uri
            accepted = register_in_process(loopback_http, loopback, fetched_uri_metadata(key, field, uri))
            assert accepted.status_code == 201, (uri, accepted.text)
    assert strict.storage.clients.list() == []
    for host in ("10.0.0.5", "169.254.169.254"):  # loopback is all the setting opens
        refused = register_in_process(loopback_http, loopback, fetched_uri_metadata(key, "jwks_uri", f"https://{host}/"))
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata"


def test_outbound_allowed_networks_open_a_private_range(registrar: Callable[..., tuple[TestClient, Any]]) -> None:
    http, provider = registrar(outbound_allowed_networks=["10.0.0.0/24"])
    key = RpKey()
    for uri in ("https://10.0.0.5/x", "https://[::ffff:10.0.0.5]/x", "https://0x0a.5/x"):
        accepted = register_in_process(http, provider, fetched_uri_metadata(key, "backchannel_logout_uri", uri))
        assert accepted.status_code == 201, (uri, accepted.text)
    for uri in ("https://10.0.1.5/x", "https://169.254.169.254/x", "https://0x7f.1/x"):
        refused = register_in_process(http, provider, fetched_uri_metadata(key, "jwks_uri", uri))
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata", uri


def test_an_update_to_an_internal_address_is_refused(registrar: Callable[..., tuple[TestClient, Any]]) -> None:
    http, provider = registrar()
    key = RpKey()
    created = register_in_process(http, provider, m2m_metadata(key, backchannel_logout_uri="https://rp.example.vn/l"))
    assert created.status_code == 201, created.text
    body = created.json()
    auth = {"Authorization": f"Bearer {body['registration_access_token']}"}
    for change in ({"backchannel_logout_uri": "https://[::ffff:10.0.0.1]/l"},
                   {"jwks": None, "jwks_uri": "https://169.254.169.254/jwks"}):
        metadata = {k: v for k, v in {**m2m_metadata(key), "client_id": body["client_id"], **change}.items()
                    if v is not None}
        replaced = http.put(f"/register/{body['client_id']}", headers=auth, json=metadata)
        assert replaced.status_code == 400 and replaced.json()["error"] == "invalid_client_metadata", replaced.text
    stored = provider.storage.clients.get(body["client_id"])
    assert stored.extra["backchannel_logout_uri"] == "https://rp.example.vn/l" and "jwks_uri" not in stored.extra


def test_a_running_server_refuses_internal_client_urls(profile_deployment: ProfileDeployment) -> None:
    """The deployment allows loopback client URLs (its receiver is on 127.0.0.1), nothing else."""
    dep = profile_deployment
    token = initial_token(dep, uses=1)
    key = RpKey()
    for field in ("jwks_uri", "backchannel_logout_uri"):
        for host in ("10.0.0.5", "169.254.169.254", "[::ffff:10.0.0.1]"):
            response = register(dep, token, fetched_uri_metadata(key, field, f"https://{host}/x"))
            assert response.status_code == 400, response.text
            assert response.json()["error"] == "invalid_client_metadata"
            assert response.json()["error_description"].startswith(f"{field}: ")
    assert register(dep, token, fetched_uri_metadata(key, "jwks_uri", "http://0x7f.1:9/jwks")).status_code == 201
