"""Certificate sign-in, the ways in besides the signing tool (tests/browser has that one).

- mTLS: the client certificate of a TLS terminator, believed from IDP_TRUSTED_PROXIES only; a
  trusted official reaches the relying party at pki-hw, a revoked certificate or a header from
  anyone else is refused on our page.
- Remote signing (the sandbox's simulator): a citizen gives their personal ID number, confirms in
  the phone app and reaches pki-remote; waiting, refusing and an unknown number are explained."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from base64 import urlsafe_b64encode
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pytest
from asn1crypto import x509 as asn1_x509
from fastapi.testclient import TestClient

from idp.app import create_app
from idp.sandbox.remote_signing import KeySigner, RemoteSigningService, RemoteUser
from idp.settings import Settings
from idp.storage.models import Client
from tests.unit.pki.support import TestPki, test_pki, test_pki_server  # noqa: F401 - fixtures

REDIRECT = "https://motcua.example.vn/cb"
HEADER = "X-SSL-Client-Cert"
VERIFIER = "v" * 64


@pytest.fixture
def remote_service(test_pki: TestPki) -> Iterator[RemoteSigningService]:  # noqa: F811
    citizen = test_pki["remote"]
    service = RemoteSigningService(users={"CCCD:079099000222": RemoteUser(
        KeySigner(citizen.key), [asn1_x509.Certificate.load(c.der) for c in citizen.chain()])})
    service.start()
    yield service
    service.stop()


@pytest.fixture
def app(tmp_path: Path, test_pki: TestPki, remote_service: RemoteSigningService) -> Any:  # noqa: F811
    (tmp_path / "adapters.yaml").write_text(
        "adapters:\n  - id: chukyso\n    type: certificate\n    display_name: {vi: Chữ ký số}\n"
        f"    levels: [pki-hw, pki-remote]\n    mtls_header: {HEADER}\n"
        f"    remote_signing_url: {remote_service.base_url}\n    remote_signing_api_key: {remote_service.api_key}\n",
        encoding="utf-8")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "default.yaml").write_text(
        "version: 1\nadapters: [chukyso]\nminimum_acr: pki-remote\nscopes: [openid, profile]\n", encoding="utf-8")
    application = create_app(Settings(
        data_dir=tmp_path / "var", adapters_file=tmp_path / "adapters.yaml", policies_dir=tmp_path / "policies",
        trust_file=test_pki.trust_file(), allow_loopback_client_urls=True, trusted_proxies=["10.0.0.0/8"]))
    application.state.provider.storage.clients.add(Client(
        client_id="motcua", name="Một cửa", auth_method="none", redirect_uris=(REDIRECT,),
        grant_types=("authorization_code",), scopes=("openid", "profile"), trusted=True))
    return application


@pytest.fixture
def proxy(app: Any) -> Iterator[TestClient]:
    with TestClient(app, client=("10.1.2.3", 40000), follow_redirects=False) as http:
        yield http


def escaped_pem(pki: TestPki, name: str) -> str:
    return quote(pki[name].pem.decode("ascii"), safe="")  # nginx's $ssl_client_escaped_cert


def certificate_form(http: TestClient, way: str = "mtls") -> tuple[str, str]:
    """Start an authorization and open the certificate page: the action of its form for ``way``
    (``mtls``, ``remote``) and the CSRF token."""
    challenge = urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
    answer = http.get("/authorize?" + urlencode({
        "response_type": "code", "client_id": "motcua", "redirect_uri": REDIRECT, "scope": "openid profile",
        "state": "s1", "nonce": "n1", "code_challenge": challenge, "code_challenge_method": "S256"}))
    while answer.status_code in (302, 303):
        answer = http.get(answer.headers["location"])
    found = re.search(r'href="(/interaction/[^"]+/certificate/chukyso)"', answer.text)
    assert found is not None, answer.text
    start = found.group(1)
    page = http.get(start)
    assert page.status_code == 200
    action = re.search(rf'action="([^"]+/certificate/chukyso/{way})"', page.text)
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert action is not None, page.text
    return action.group(1), csrf


def acr_of(http: TestClient, location: str) -> str:
    assert location.startswith(REDIRECT + "?code="), location
    code = dict(p.split("=", 1) for p in urlsplit(location).query.split("&"))["code"]
    tokens = http.post("/token", data={"grant_type": "authorization_code", "code": code, "client_id": "motcua",
                                       "redirect_uri": REDIRECT, "code_verifier": VERIFIER}).json()
    payload = tokens["id_token"].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["acr"])


def test_a_trusted_proxy_passes_an_officials_certificate(proxy: TestClient, test_pki: TestPki) -> None:  # noqa: F811
    action, csrf = certificate_form(proxy)
    answer = proxy.post(action, data={"csrf_token": csrf}, headers={HEADER: escaped_pem(test_pki, "official")})
    assert answer.status_code in (302, 303), answer.text
    assert acr_of(proxy, answer.headers["location"]).endswith("/acr/pki-hw")


def test_a_revoked_certificate_is_refused_with_its_reason(proxy: TestClient, test_pki: TestPki) -> None:  # noqa: F811
    action, csrf = certificate_form(proxy)
    answer = proxy.post(action, data={"csrf_token": csrf}, headers={HEADER: escaped_pem(test_pki, "revoked")})
    assert answer.status_code == 401 and "đã bị thu hồi" in answer.text


def test_the_header_from_anyone_else_is_ignored(app: Any, test_pki: TestPki) -> None:  # noqa: F811
    with TestClient(app, client=("198.51.100.7", 40000), follow_redirects=False) as direct:
        action, csrf = certificate_form(direct)
        answer = direct.post(action, data={"csrf_token": csrf}, headers={HEADER: escaped_pem(test_pki, "official")})
    assert answer.status_code == 400 and "chưa trình chứng thư số" in answer.text


def test_a_citizen_signs_in_by_remote_signing(proxy: TestClient, remote_service: RemoteSigningService) -> None:
    action, csrf = certificate_form(proxy, "remote")
    started = proxy.post(action, data={"csrf_token": csrf, "user_id": "079099000222"})
    assert started.status_code == 200 and "Đã gửi yêu cầu ký" in started.text
    early = proxy.post(action, data={"csrf_token": csrf, "continue": "1"})
    assert early.status_code == 409 and "Chưa nhận được xác nhận" in early.text
    assert proxy.get(action + "/status").json() == {"status": "pending"}  # what the waiting page polls
    request_id = remote_service.pending_for("CCCD:079099000222")
    assert request_id is not None
    assert httpx.post(f"{remote_service.base_url}/phone/{request_id}/confirm", timeout=10).status_code == 200
    assert proxy.get(action + "/status").json() == {"status": "answered"}
    done = proxy.post(action, data={"csrf_token": csrf, "continue": "1"})
    assert done.status_code in (302, 303), done.text
    assert acr_of(proxy, done.headers["location"]).endswith("/acr/pki-remote")


def test_remote_signing_refused_or_unknown_is_explained(proxy: TestClient,
                                                        remote_service: RemoteSigningService) -> None:
    action, csrf = certificate_form(proxy, "remote")
    unknown = proxy.post(action, data={"csrf_token": csrf, "user_id": "001099012345"})
    assert unknown.status_code == 401 and "không có chứng thư số cho số định danh này" in unknown.text
    proxy.post(action, data={"csrf_token": csrf, "user_id": "079099000222"})
    request_id = remote_service.pending_for("CCCD:079099000222")
    httpx.post(f"{remote_service.base_url}/phone/{request_id}/refuse", timeout=10)
    assert proxy.get(action + "/status").json() == {"status": "answered"}  # a refusal is an answer too
    refused = proxy.post(action, data={"csrf_token": csrf, "continue": "1"})
    assert refused.status_code == 401 and "bị từ chối trên điện thoại" in refused.text
