"""Dynamic client registration (RFC 7591) and management (RFC 7592) against a running server:
behind an initial access token from `idp registration token`, strict metadata, and a registration
access token that reads, replaces and deletes the registration."""

from __future__ import annotations

import json

import httpx

from tests.functional.helpers import run_idp
from tests.functional.profile_rp import ProfileDeployment, RpKey, client_assertion, profile_deployment

__all__ = ["profile_deployment"]


def initial_token(dep: ProfileDeployment, uses: int = 1) -> str:
    issued = run_idp(["registration", "token", "--label", "tỉnh-test", "--uses", str(uses)], dep.env)
    assert issued.returncode == 0, issued.stderr
    return str(json.loads(issued.stdout)["initial_access_token"])


def register(dep: ProfileDeployment, token: str | None, metadata: dict) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(dep.base + "/register", json=metadata, headers=headers, timeout=30)


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
