"""A person of a business signs in with their certificate, which names them and the business's tax
code (a certificate of a person in an organisation, from the test PKI): at a service that accepts
organisations they may act for that business (an entitlement from the certificate), and the
service's ID token (python-jose) says so with ``act`` and the organisation's claims, never the
person's number; their personal-data export names the business and the certificate as its
source. A certificate that names no tax code, or no person, entitles nobody.

Only HTTP, as people and relying parties see it: ``idp serve``, the certificate as the TLS
terminator in front of it passes it (the mTLS header, believed from the trusted proxy only).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml
from jose import jwt as jose_jwt

from tests.functional.browser_client import Browser
from tests.functional.helpers import run_idp, running_server
from tests.functional.strict_rp import PushedRun, StrictClient
from tests.functional.test_federation_browser import consent_and_code
from tests.unit.pki.support import TestPki, test_pki_server  # noqa: F401 - fixture

HEADER = "X-SSL-Client-Cert"
CLIENT = StrictClient("doanhnghiep")  # vn_org is restricted: the strict profile
REDIRECT = "http://127.0.0.1:9/doanhnghiep/cb"
TAX_CODE, BUSINESS = "0101234567", "CÔNG TY TNHH PHẦN MỀM SÔNG HỒNG"  # the test PKI's business
PERSON = "001190000333"  # its person's personal ID number (the "business-person" certificate)
ASKED = "Bạn thực hiện với tư cách nào?"
POLICY = {"version": 1, "description": "Dịch vụ cho doanh nghiệp", "adapters": ["chukyso"],
          "minimum_acr": "pki-hw", "organisations": True, "scopes": ["openid", "profile", "vn_org"]}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory,
               test_pki_server: tuple[TestPki, Any]) -> Iterator[tuple[str, Path, TestPki]]:  # noqa: F811
    """``idp serve`` whose one source is the certificate adapter (mTLS from loopback, the proxy)."""
    pki, _ = test_pki_server
    root = Path(tmp_path_factory.mktemp("certificate-organisations"))
    adapter = {"id": "chukyso", "type": "certificate", "display_name": {"vi": "Chữ ký số"}, "levels": ["pki-hw"],
               "mtls_header": HEADER}
    (root / "adapters.yaml").write_text(yaml.safe_dump({"adapters": [adapter]}, allow_unicode=True))
    (root / "policies").mkdir()
    (root / "policies" / "default.yaml").write_text(yaml.safe_dump(POLICY, allow_unicode=True))
    env = {"IDP_DATA_DIR": str(root / "var"), "IDP_ADAPTERS_FILE": str(root / "adapters.yaml"),
           "IDP_POLICIES_DIR": str(root / "policies"), "IDP_TRUST_FILE": str(pki.trust_file()),
           "IDP_TRUSTED_PROXIES": '["127.0.0.1/32"]', "IDP_ALLOW_LOOPBACK_CLIENT_URLS": "true"}  # OCSP, CRL
    args = ["clients", "add", CLIENT.client_id, "--name", "Dịch vụ doanh nghiệp", *CLIENT.cli_args(root),
            "--redirect-uri", REDIRECT, *[a for scope in POLICY["scopes"] for a in ("--scope", scope)]]
    added = run_idp(args, env | {"IDP_AUTO_MIGRATE": "true"})
    assert added.returncode == 0, added.stderr
    with running_server(env) as base:
        yield base, root / "var", pki


@pytest.fixture
def browser(deployment: tuple[str, Path, TestPki]) -> Iterator[Browser]:
    person = Browser(deployment[0])
    yield person
    person.close()


def sign_in_with(browser: Browser, base: str, pki: TestPki, certificate: str) -> tuple[PushedRun, httpx.Response]:
    """From the service's authorization request to the page after the certificate sign-in."""
    run = PushedRun(CLIENT.client_id, REDIRECT, scope="openid profile vn_org", base=base, client=CLIENT,
                    extra={"claims": json.dumps({"id_token": dict.fromkeys(
                        ("vn_acting_for", "vn_org_tax_code", "vn_org_name"))})})
    login = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=REDIRECT)
    link = re.search(r'href="(/interaction/[^"]+/certificate/chukyso)"', login.text)
    assert link is not None, login.text[:1000]
    page = browser.http.get(link.group(1))
    action = re.search(r'action="([^"]+/certificate/chukyso/mtls)"', page.text)
    assert action is not None, page.text[:1000]
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = browser.http.post(action.group(1), data={"csrf_token": csrf},
                               headers={HEADER: quote(pki[certificate].pem.decode("ascii"), safe="")})
    return run, browser.follow(answer, stop_at=REDIRECT)


def tokens_for(base: str, run: PushedRun, code: str) -> dict[str, Any]:
    answer = httpx.post(base + "/token", timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": run.verifier,
        **CLIENT.auth(base)})
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    return dict(jose_jwt.decode(tokens["id_token"], httpx.get(base + "/jwks").json(), algorithms=["ES256", "RS256"],
                                audience=CLIENT.client_id, issuer=base, access_token=tokens["access_token"]))


def test_a_person_acts_for_the_business_their_certificate_names(deployment: tuple[str, Path, TestPki],
                                                               browser: Browser) -> None:
    base, data, pki = deployment
    run, page = sign_in_with(browser, base, pki, "business-person")
    assert page.status_code == 200 and ASKED in page.text and BUSINESS in page.text
    consent = browser.follow(browser.submit(page, {"acting_for": TAX_CODE}), stop_at=REDIRECT)
    assert f"thay mặt cho tổ chức: {BUSINESS}" in consent.text
    token = tokens_for(base, run, consent_and_code(browser, run, consent)["code"])
    assert token["vn_acting_for"] == token["vn_org_tax_code"] == TAX_CODE and token["vn_org_name"] == BUSINESS
    assert token["acr"].endswith("/acr/pki-hw") and token["act"]["sub"] != token["sub"]
    assert PERSON not in json.dumps(token)
    with sqlite3.connect(data / "idp.sqlite3") as db:
        [details] = db.execute("SELECT details FROM audit_events WHERE type = 'signin' AND outcome = 'success' "
                               "AND details LIKE '%acting_for%'").fetchone()
    assert json.loads(details)["acting_for"] == TAX_CODE
    [exported] = browser.http.get("/account/data.json").json()["organisations"]  # the person's right of access
    assert (exported["tax_code"], exported["name"], exported["source"], exported["adapter"]) == (
        TAX_CODE, BUSINESS, "certificate", "chukyso")


@pytest.mark.parametrize("certificate", ["official", "business"])
def test_a_certificate_naming_no_person_in_a_business_entitles_nobody(deployment: tuple[str, Path, TestPki],
                                                                      browser: Browser, certificate: str) -> None:
    """The official's names no tax code; the business's own names no person: no page, no ``act``."""
    base, _, pki = deployment
    run, page = sign_in_with(browser, base, pki, certificate)
    assert ASKED not in page.text
    token = tokens_for(base, run, consent_and_code(browser, run, page)["code"])
    assert "act" not in token and "vn_acting_for" not in token
