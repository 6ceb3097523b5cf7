"""``POST /signatures/verify`` over HTTP: a client's token with the signatures:verify scope gets the
report; no token, another scope or a person's token gets the OAuth answer; hostile bodies a 4xx;
the page shows the same report to a signed-in person."""

from __future__ import annotations

import base64
import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from idp.app import create_app
from idp.clients.secrets import hash_secret
from idp.identity.protection import personal_id_hash
from idp.settings import Settings
from idp.storage.models import Client, Grant, Subject
from tests.unit.pki.corpus import DOCUMENT, cms_signature, signed_pdf, signed_xml
from tests.unit.pki.support import TestPki, test_pki, test_pki_server  # noqa: F401 - fixtures
from tests.unit.pki.test_verification_limits import xref_bomb

SECRET = "sig-secret-0123456789-0123456789-0123"


def basic(client_id: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{SECRET}".encode()).decode()


@pytest.fixture
def service(tmp_path: Path, test_pki: TestPki) -> Iterator[TestClient]:  # noqa: F811
    app = create_app(Settings(data_dir=tmp_path / "var", trust_file=test_pki.trust_file(),
                              allow_loopback_client_urls=True))
    clients = app.state.provider.storage.clients
    for client_id, scopes in (("portal", ("signatures:verify",)), ("other", ("openid",))):
        clients.add(Client(client_id=client_id, name="Cổng một cửa", auth_method="client_secret_basic",
                           redirect_uris=(), grant_types=("client_credentials",), scopes=scopes,
                           secret_hash=hash_secret(SECRET)))
    with TestClient(app) as http:
        yield http


def token(http: TestClient, client_id: str = "portal", scope: str = "signatures:verify") -> str:
    answer = http.post("/token", data={"grant_type": "client_credentials", "scope": scope},
                       headers={"Authorization": basic(client_id)})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def post(http: TestClient, body: bytes, *, bearer: str | None, content_type: str = "application/octet-stream",
         **extra: Any) -> Any:
    headers = {"Content-Type": content_type}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    return http.post("/signatures/verify", content=body, headers=headers, **extra)


def test_a_client_with_the_scope_gets_the_report(service: TestClient, test_pki: TestPki) -> None:  # noqa: F811
    bearer = token(service)
    pdf = post(service, signed_pdf(test_pki["official"]), bearer=bearer, content_type="application/pdf")
    assert pdf.status_code == 200, pdf.text
    report = pdf.json()
    assert (report["format"], report["outcome"]) == ("pdf", "valid")
    signer = report["signatures"][0]["signer"]
    assert signer["acr"] == "pki-hw" and signer["personal_id"] == "034088000123"
    revoked = post(service, signed_xml(test_pki["revoked"]), bearer=bearer, content_type="application/xml").json()
    assert revoked["signatures"][0]["signer"]["status"] == "revoked" and revoked["outcome"] == "invalid"
    detached = service.post("/signatures/verify", headers={"Authorization": f"Bearer {bearer}"}, json={
        "document": base64.b64encode(cms_signature(test_pki["business"])).decode(),
        "content": base64.b64encode(DOCUMENT).decode()})
    assert detached.status_code == 200 and detached.json()["outcome"] == "valid"


def test_a_signer_the_client_knows_is_named_by_its_sub(service: TestClient, test_pki: TestPki) -> None:  # noqa: F811
    """The official has a grant with ``portal``: portal learns their sub; ``other`` (no grant) learns nothing."""
    provider = service.app.state.provider  # type: ignore[attr-defined]
    official = provider.storage.subjects.add(Subject(id="s-official", kind="person", personal_id_hash=personal_id_hash(
        "034088000123", provider.identity_keys.hash_key)))
    provider.storage.grants.create(Grant(id="g1", client_id="portal", subject_id=official.id, scopes=("openid",),
                                         expires_at=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)))
    clients = provider.storage.clients
    clients.update("other", lambda c: c.replace(scopes=("signatures:verify",)))
    document = signed_pdf(test_pki["official"])
    known = post(service, document, bearer=token(service), content_type="application/pdf").json()
    portal = clients.get("portal")
    assert known["signatures"][0]["signer"]["sub"] == provider.subject_ids.for_client(official.id, portal)
    stranger = post(service, document, bearer=token(service, "other"), content_type="application/pdf").json()
    assert stranger["signatures"][0]["signer"]["sub"] is None
    citizen = post(service, signed_pdf(test_pki["citizen"]), bearer=token(service), content_type="application/pdf")
    assert citizen.json()["signatures"][0]["signer"]["sub"] is None  # no such person here


def test_a_trust_file_alone_advertises_no_certificate_level(service: TestClient) -> None:
    """Discovery lists pki-hw only when a certificate adapter can produce it (here: none is configured)."""
    levels = service.get("/.well-known/openid-configuration").json()["acr_values_supported"]
    assert not any(level.endswith(("/acr/pki-hw", "/acr/pki-remote")) for level in levels)


def test_no_token_another_scope_or_a_bad_token_is_refused(service: TestClient, test_pki: TestPki) -> None:  # noqa: F811
    document = cms_signature(test_pki["citizen"], detached=False)
    missing = post(service, document, bearer=None)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert post(service, document, bearer="not-a-token").json()["error"] == "invalid_token"
    other = post(service, document, bearer=token(service, "other", "openid"))
    assert other.status_code == 403 and other.json()["error"] == "insufficient_scope"


@pytest.mark.parametrize(("body", "content_type", "status", "error"), [
    (b"<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>", "application/xml", 400, "dtd_refused"),
    (b"\x30\x82\xff\xff\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", "application/pkcs7-signature", 400,
     "malformed"),
    (b"{\"document\": \"***\"}", "application/json", 400, "invalid_request"),
    (b"[" * 100_000, "application/json", 400, "invalid_request"),
    (b"%PDF-1.7\n" + b"0" * (11 * 1024 * 1024), "application/pdf", 413, "too_large"),
])
def test_hostile_bodies_get_a_4xx(service: TestClient, body: bytes, content_type: str, status: int,
                                  error: str) -> None:
    answer = post(service, body, bearer=token(service), content_type=content_type)
    assert (answer.status_code, answer.json()["error"]) == (status, error)


def test_the_page_needs_a_person_and_shows_the_report(service: TestClient, test_pki: TestPki) -> None:  # noqa: F811
    assert service.get("/signatures", follow_redirects=False).status_code == 303
    provider = service.app.state.provider  # type: ignore[attr-defined]
    session = provider.sessions.create(subject_id="s1", auth_time=1, acr=None, amr=("pwd",), adapter="local")
    service.cookies.set("vnidp_session", session.id)
    form = service.get("/signatures")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    csrf = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = service.post("/signatures", data={"csrf_token": csrf},
                          files={"document": ("hoso.pdf", signed_pdf(test_pki["revoked"]), "application/pdf")})
    assert answer.status_code == 200, answer.text
    assert "Có chữ ký không hợp lệ" in answer.text and "Chứng thư số đã bị thu hồi." in answer.text
    assert "Lê Văn Cường" in answer.text
    hostile = service.post("/signatures", data={"csrf_token": csrf},
                           files={"document": ("x.xml", b"<!DOCTYPE a [<!ENTITY b 'c'>]><a>&b;</a>", "text/xml")})
    assert hostile.status_code == 400 and "DOCTYPE" in hostile.text
    forged = service.post("/signatures", files={"document": ("hoso.pdf", b"%PDF-1.7", "application/pdf")})
    assert forged.status_code == 400


def test_hostile_documents_over_http_get_a_4xx_and_the_service_answers_afterwards(
        service: TestClient, test_pki: TestPki) -> None:  # noqa: F811
    """Crafted PDFs (tests/unit/pki/test_verification_limits.py) against the composed service, its
    limits lowered: slow, 422; memory-hungry, 413; then a genuine document, 200."""
    verifier = service.app.state.provider.signatures  # type: ignore[attr-defined]
    verifier.time_limit, verifier.memory_limit = 1.5, 64 * 1024 * 1024
    bearer = token(service)
    slow = post(service, xref_bomb(1_000_000), bearer=bearer, content_type="application/pdf")
    assert (slow.status_code, slow.json()["error"]) == (422, "time_limit")
    hungry = post(service, xref_bomb(32_000_000), bearer=bearer, content_type="application/pdf")
    assert (hungry.status_code, hungry.json()["error"]) == (413, "too_large")
    genuine = post(service, signed_pdf(test_pki["citizen"]), bearer=bearer, content_type="application/pdf")
    assert genuine.status_code == 200 and genuine.json()["outcome"] == "valid"
