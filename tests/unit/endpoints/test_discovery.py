"""Discovery is generated from what the compose step registered (the paths served, the token
side's grants, client authentication and PKCE methods, the key ring's algorithms, the profile;
levels, claims and scopes from what the configured adapters produce, here the default local
adapter): the document a relying party reads is the recorded one (``discovery_documents.json``), in
every configuration that changes it. Discovery against sign-ins through the national adapters:
tests/functional/test_discovery_adapters.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from idp.app import create_app
from idp.settings import Settings

RECORDED = json.loads((Path(__file__).parent / "discovery_documents.json").read_text(encoding="utf-8"))
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {}, "strict": {"strict_profile": True}, "registration": {"registration_enabled": True},
    "par_required": {"require_pushed_authorization_requests": True},
}


def served_document(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    app = create_app(Settings(data_dir=tmp_path / "var", **settings))
    with TestClient(app, base_url="http://localhost:8000") as client:
        response = client.get("/.well-known/openid-configuration")
        assert response.status_code == 200
        assert client.get("/.well-known/oauth-authorization-server").content == response.content
    issuer = app.state.provider.issuer
    return dict(json.loads(response.text.replace(issuer, "{issuer}")))


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_the_generated_document_is_the_one_served_before(tmp_path: Path, config: str) -> None:
    assert served_document(tmp_path, **CONFIGS[config]) == RECORDED[config]


def test_every_advertised_endpoint_answers(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "var", registration_enabled=True))
    with TestClient(app, base_url="http://localhost:8000") as client:
        document = client.get("/.well-known/openid-configuration").json()
        issuer = app.state.provider.issuer
        endpoints = {name: url for name, url in document.items() if name.endswith(("_endpoint", "_uri"))}
        assert "registration_endpoint" in endpoints and "pushed_authorization_request_endpoint" in endpoints
        for name, url in endpoints.items():
            assert url.startswith(issuer + "/"), name
            assert client.get(url.removeprefix(issuer)).status_code != 404, name


def test_discovery_advertises_exactly_what_is_enabled(tmp_path: Path) -> None:
    relaxed = served_document(tmp_path / "relaxed")
    assert relaxed["require_pushed_authorization_requests"] is False
    assert "client_secret_basic" in relaxed["token_endpoint_auth_methods_supported"]
    assert "registration_endpoint" not in relaxed
    strict = served_document(tmp_path / "strict", strict_profile=True, registration_enabled=True)
    assert strict["require_pushed_authorization_requests"] is True
    assert strict["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    for name in ("token_endpoint_auth_signing_alg_values_supported", "dpop_signing_alg_values_supported",
                 "request_object_signing_alg_values_supported"):
        assert strict[name] == ["ES256", "PS256"]
    assert strict["registration_endpoint"] == "{issuer}/register"
