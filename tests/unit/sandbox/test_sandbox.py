"""The sandbox upstreams behave as strict OpenID Providers (so the adapter is tested against
something that refuses what a real one refuses) and carry only synthetic, well-formed data."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from starlette.testclient import TestClient

from idp.cli import main
from idp.identity.personal_id import is_valid_personal_id
from idp.sandbox import CITIZENS, SandboxClient, SandboxProvider
from idp.sandbox.routes import build_app
from idp.sandbox.shapes import dvcqg_shape, vneid_shape

CALLBACK = "http://127.0.0.1:8000/login/callback"
RP = SandboxClient("rp", "rp-secret", (CALLBACK,))
VERIFIER = "v" * 50


@pytest.fixture(params=["vneid", "dvcqg"])
def provider(request: pytest.FixtureRequest) -> SandboxProvider:
    shape = vneid_shape() if request.param == "vneid" else dvcqg_shape()
    return SandboxProvider(shape, "http://testserver", {"rp": RP})


@pytest.fixture
def client(provider: SandboxProvider) -> Iterator[TestClient]:
    with TestClient(build_app(provider), follow_redirects=False) as test_client:
        yield test_client


def authorize(client: TestClient, provider: SandboxProvider, **changes: str) -> dict[str, list[str]]:
    params = {"client_id": "rp", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid",
              "state": "st", "nonce": "no", "code_challenge": create_s256_code_challenge(VERIFIER),
              "code_challenge_method": "S256", "citizen": CITIZENS[0].personal_id, "decision": "allow", **changes}
    answer = client.post(provider.shape.authorize_path, data=params)
    assert answer.status_code == 302
    return parse_qs(urlsplit(answer.headers["location"]).query)


def redeem(client: TestClient, provider: SandboxProvider, code: str, **changes: str) -> tuple[int, dict]:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": VERIFIER,
            **changes}  # fmt: skip
    answer = client.post(provider.shape.token_path, data=form, auth=("rp", "rp-secret"))
    return answer.status_code, answer.json()


def test_the_synthetic_citizens_have_well_formed_numbers() -> None:
    assert all(is_valid_personal_id(citizen.personal_id) for citizen in CITIZENS)
    assert len({citizen.personal_id for citizen in CITIZENS}) == len(CITIZENS)


def test_an_unregistered_redirect_uri_gets_a_page_not_a_redirect(client: TestClient, provider: SandboxProvider) -> None:
    answer = client.get(provider.shape.authorize_path, params={"client_id": "rp", "redirect_uri": "http://127.0.0.1/x",
                                                               "response_type": "code", "scope": "openid"})  # fmt: skip
    assert answer.status_code == 400 and "location" not in answer.headers


def test_a_code_is_redeemed_once(client: TestClient, provider: SandboxProvider) -> None:
    code = authorize(client, provider)["code"][0]
    status, body = redeem(client, provider, code)
    assert status == 200 and body["token_type"] == "Bearer" and body["id_token"].count(".") == 2
    assert redeem(client, provider, code) == (400, {"error": "invalid_grant"})


def test_pkce_is_enforced_and_plain_refused(client: TestClient, provider: SandboxProvider) -> None:
    code = authorize(client, provider)["code"][0]
    assert redeem(client, provider, code, code_verifier="w" * 50) == (400, {"error": "invalid_grant",
                                                                            "error_description": "PKCE"})  # fmt: skip
    assert authorize(client, provider, code_challenge_method="plain")["error"] == ["invalid_request"]


def test_a_wrong_client_secret_is_refused(client: TestClient, provider: SandboxProvider) -> None:
    code = authorize(client, provider)["code"][0]
    answer = client.post(provider.shape.token_path, auth=("rp", "wrong"),
                         data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK})
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_discovery_and_jwks_have_the_national_shapes(client: TestClient, provider: SandboxProvider) -> None:
    document = client.get(provider.shape.discovery_path).json()
    assert document["issuer"] == provider.issuer
    if provider.shape.name == "dvcqg":
        assert provider.issuer.endswith("/oauth2/token") and document["jwks_uri"].endswith("/oauth2/jwks")
    else:
        assert provider.issuer.endswith("/realms/citizen") and document["jwks_uri"].endswith("/openid-connect/certs")
    keys = client.get(provider.shape.jwks_path).json()["keys"]
    assert keys and all("d" not in key and key["kty"] == "RSA" for key in keys)


def test_the_sandbox_listens_on_loopback_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "serve", "--host", "0.0.0.0", "--port", "0"]) == 1
    assert capsys.readouterr().err.strip() == "idp: the sandbox listens on loopback only"


def test_the_citizen_list_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "citizens"]) == 0
    assert "Trần Thị Bích Ngọc" in capsys.readouterr().out


def test_forms_over_the_limit_are_refused(client: TestClient, provider: SandboxProvider) -> None:
    from idp.sandbox.routes import MAX_FORM_BYTES

    huge = b"a" * (MAX_FORM_BYTES + 1)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    token = client.post(provider.shape.token_path, content=huge, headers=form)
    assert token.status_code == 413 and token.json()["error"] == "invalid_request"
    page = client.post(provider.shape.authorize_path, content=huge, headers=form)
    assert page.status_code == 413 and "Yêu cầu quá lớn" in page.text
