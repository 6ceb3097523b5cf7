"""The generic upstream adapter against an OpenID Provider nobody here wrote: node-oidc-provider
(panva, pinned in package.json) on a loopback port. Client authentication by
client_secret_basic, client_secret_post and private_key_jwt; discovery, PKCE, userinfo, claim
mapping, replay refusal and upstream logout."""

from __future__ import annotations

import html
import json
import os
import re
import select
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

from adapters.base import RequestData, UpstreamRejected
from adapters.oidc.adapter import OidcUpstreamAdapter
from adapters.oidc.config import OidcConfig
from tests.interop import node_with_packages

HERE = Path(__file__).parent
CALLBACK = "http://127.0.0.1:8000/login/callback"
CITIZEN_LOGIN = "citizen-0001"


@pytest.fixture(scope="module")
def rp_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "provincial-idp-1", "use": "sig", "alg": "RS256"})


@pytest.fixture(scope="module")
def issuer(rp_key: RSAKey) -> Iterator[str]:
    """node-oidc-provider on 127.0.0.1, stopped after the module."""
    node = node_with_packages(HERE, "oidc-provider", "node-oidc-provider")
    clients = [
        {"client_id": "basic-rp", "client_secret": "basic-secret", "redirect_uris": [CALLBACK],
         "post_logout_redirect_uris": ["http://127.0.0.1:8000/signed-out"]},
        {"client_id": "post-rp", "client_secret": "post-secret", "redirect_uris": [CALLBACK],
         "token_endpoint_auth_method": "client_secret_post"},
        {"client_id": "pkjwt-rp", "redirect_uris": [CALLBACK], "token_endpoint_auth_method": "private_key_jwt",
         "jwks": {"keys": [rp_key.as_dict(private=False)]}},
    ]  # fmt: skip
    env = {**os.environ, "OIDC_CLIENTS": json.dumps(clients), "PORT": "0", "NODE_ENV": "test"}
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([node, "server.mjs"], cwd=HERE, env=env, stdout=subprocess.PIPE, stderr=errors)
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 20)
            line = proc.stdout.readline() if ready else b""
            if not line:
                errors.seek(0)
                pytest.fail("node-oidc-provider did not start: " + errors.read().decode()[-500:], pytrace=False)
            yield json.loads(line)["issuer"]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()


def browser_login(authorize_url: str) -> RequestData:
    """Play the browser through oidc-provider's development login and consent forms."""
    with httpx.Client(timeout=5, trust_env=False) as browser:
        response = browser.get(authorize_url)
        for _ in range(12):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(CALLBACK):
                    return RequestData(query=dict(parse_qsl(urlsplit(location).query)))
                response = browser.get(location)
                continue
            assert response.status_code == 200, response.text[:500]
            match = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            assert match, response.text[:500]
            fields = (
                {"prompt": "login", "login": CITIZEN_LOGIN, "password": "any"}
                if 'name="login"' in response.text
                else {"prompt": "consent"}
            )
            response = browser.post(urljoin(str(response.url), html.unescape(match.group(1))), data=fields)
    raise AssertionError("the upstream never redirected back")


def config(issuer: str, client_id: str, **settings: Any) -> OidcConfig:
    return OidcConfig(
        id="partner-op", type="oidc", issuer=issuer, client_id=client_id, scopes=("openid", "profile"),
        timeout_seconds=5, **settings,
    )  # fmt: skip


def sign_in(adapter: OidcUpstreamAdapter) -> tuple[RequestData, dict[str, Any]]:
    url, pending = adapter.begin(CALLBACK)
    return browser_login(url), pending


@pytest.fixture
def adapters() -> Iterator[list[OidcUpstreamAdapter]]:
    opened: list[OidcUpstreamAdapter] = []
    yield opened
    for adapter in opened:
        adapter.close()


def opened(adapters: list[OidcUpstreamAdapter], cfg: OidcConfig) -> OidcUpstreamAdapter:
    adapters.append(OidcUpstreamAdapter(cfg))
    return adapters[-1]


def test_client_secret_basic_with_discovery_pkce_and_claim_mapping(issuer: str, adapters: Any) -> None:
    adapter = opened(adapters, config(issuer, "basic-rp", client_secret="basic-secret",
                                      claim_map={"cccd": "vn_personal_id"}))  # fmt: skip
    request, pending = sign_in(adapter)
    assert "code_verifier" in pending  # oidc-provider advertises S256 (and requires PKCE here)
    identity = adapter.complete(CALLBACK, request, pending)
    assert identity.subject == CITIZEN_LOGIN and identity.issuer == issuer
    assert identity.claims["name"] == "Nguyễn Văn An" and identity.claims["middle_name"] == "Văn"
    assert identity.claims["vn_personal_id"] == "049085001234"  # only because claim_map says so
    assert identity.acr == "local-basic"  # nothing maps this upstream's acr: the lowest level

    with pytest.raises(UpstreamRejected) as caught:
        adapter.complete(CALLBACK, request, pending)
    assert caught.value.reason == "replayed_callback"

    logout = adapter.logout_request(identity.evidence["logout"], "http://127.0.0.1:8000/signed-out")
    assert logout is not None and logout.method == "POST" and logout.url == issuer + "/session/end"
    assert logout.params["id_token_hint"] == identity.evidence["logout"]["id_token_hint"]


def test_client_secret_post(issuer: str, adapters: Any) -> None:
    adapter = opened(adapters, config(issuer, "post-rp", client_secret="post-secret",
                                      token_endpoint_auth_method="client_secret_post"))  # fmt: skip
    request, pending = sign_in(adapter)
    assert adapter.complete(CALLBACK, request, pending).subject == CITIZEN_LOGIN


def test_private_key_jwt(issuer: str, adapters: Any, rp_key: RSAKey) -> None:
    adapter = opened(adapters, config(issuer, "pkjwt-rp", token_endpoint_auth_method="private_key_jwt",
                                      private_jwk=json.dumps(rp_key.as_dict(private=True))))  # fmt: skip
    request, pending = sign_in(adapter)
    assert adapter.complete(CALLBACK, request, pending).subject == CITIZEN_LOGIN


def test_a_wrong_client_secret_is_a_refusal_not_an_outage(issuer: str, adapters: Any) -> None:
    adapter = opened(adapters, config(issuer, "basic-rp", client_secret="wrong"))
    request, pending = sign_in(adapter)
    with pytest.raises(UpstreamRejected) as caught:
        adapter.complete(CALLBACK, request, pending)
    assert caught.value.reason == "token_request_refused"
