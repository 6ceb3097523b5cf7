"""Helpers shared by the federation tests: drive a sign-in through a sandbox upstream the way a
browser would (GET the login page, post the citizen's choice, read the redirect)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from adapters.base import RequestData, UpstreamRequest
from adapters.dvcqg.config import DvcqgConfig
from adapters.oidc.adapter import OidcUpstreamAdapter
from adapters.vneid.config import VneidConfig
from idp.sandbox import NationalSandbox, SandboxClient

CALLBACK = "http://127.0.0.1:8000/login/callback"
CLIENT = SandboxClient("provincial-idp", "s3cret-for-tests", (CALLBACK,))


def browser_login(authorize_url: str, personal_id: str, *, decision: str = "allow") -> RequestData:
    """Sign in at the sandbox as ``personal_id``; the callback request the browser would make."""
    with httpx.Client(timeout=5, trust_env=False) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200, page.text
        assert "Đồng ý" in page.text
        params = dict(parse_qsl(urlsplit(authorize_url).query))
        action = authorize_url.split("?", 1)[0]
        answer = browser.post(action, data={**params, "citizen": personal_id, "decision": decision})
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(CALLBACK)
    return RequestData(query=dict(parse_qsl(urlsplit(location).query)))


def sign_in(adapter: OidcUpstreamAdapter, personal_id: str,
            request: UpstreamRequest | None = None) -> tuple[RequestData, dict[str, Any]]:
    url, pending = adapter.begin(CALLBACK, request)
    return browser_login(url, personal_id), pending


def vneid_config(sandbox: NationalSandbox, **overrides: Any) -> VneidConfig:
    settings: dict[str, Any] = {"timeout_seconds": 2, **overrides}
    return VneidConfig(
        id="vneid", type="vneid", base_url=sandbox.vneid.base_url, client_id=CLIENT.client_id,
        client_secret=CLIENT.client_secret, **settings,
    )  # fmt: skip


def dvcqg_config(sandbox: NationalSandbox, **overrides: Any) -> DvcqgConfig:
    settings: dict[str, Any] = {"timeout_seconds": 2, "token_endpoint_auth_method": "client_secret_post", **overrides}
    return DvcqgConfig(
        id="dvcqg", type="dvcqg", base_url=sandbox.dvcqg.base_url, client_id=CLIENT.client_id,
        client_secret=CLIENT.client_secret, **settings,
    )  # fmt: skip


@pytest.fixture(scope="module")
def sandbox() -> Iterator[NationalSandbox]:
    """Both national simulators on a loopback port for the module; mode reset after each use."""
    running = NationalSandbox.start([CLIENT])
    yield running
    running.stop()


@pytest.fixture
def national(sandbox: NationalSandbox) -> Iterator[NationalSandbox]:
    yield sandbox
    sandbox.vneid.set_mode("normal")
    sandbox.dvcqg.set_mode("normal")
