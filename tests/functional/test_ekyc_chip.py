"""eKYC with the chip ID card against a running server: a reader posts each synthetic card over
HTTP (each genuine one verified, each broken variant refused with its reason), and a person signed
in at VNeID level 1 (a testing source) is stepped up to ``cccd-chip`` by their own card only."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pyotp
import pytest
import yaml
from jose import jwt as jose_jwt
from joserfc import jwt
from joserfc.jwk import KeySet

from adapters.testing.face import face_image
from tests.functional.browser_client import AuthorizationRun, Browser, callback_params
from tests.functional.helpers import call_idp, running_server
from tests.functional.strict_rp import PushedRun, StrictClient
from tests.unit.ekyc.chips import PEOPLE, Chip, ChipSet, make_chip_set

PASSWORD = "mật khẩu thử nghiệm đủ dài 2024"
SECRET = "s3cret-of-the-ekyc-relying-party-0123456789"
TOKEN = re.compile(r'id="upload-token" data-token="([^"]+)"')
EKYC = StrictClient("ekyc")
OFFICIAL = "canbo.motcua"


@dataclass(frozen=True)
class Deployment:
    base: str
    chips: ChipSet
    env: dict[str, str]


def _policy(client_id: str | None, minimum: str, scopes: list[str]) -> dict:
    policy = {"version": 1, "adapters": ["test0", "test1", "chip", "local"], "minimum_acr": minimum,
              "mfa_required": False, "scopes": scopes, "subject_type": "pairwise", "step_up_window_seconds": 600}
    return policy | ({"client_id": client_id} if client_id else {})


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = Path(tmp_path_factory.mktemp("ekyc"))
    chips = make_chip_set(root / "chips")
    # one testing source per person, standing for VNeID level 1 (its redirect signs that person in)
    adapters = [
        {"id": f"test{n}", "type": "testing", "acr": "vneid-l1", "display_name": {"vi": f"VNeID (thử nghiệm {n})"},
         "users": {person.id_number: {"password": PASSWORD, "claims": {"vn_personal_id": person.id_number,
                                                                        "name": person.full_name}}}}
        for n, person in enumerate(PEOPLE[:2])
    ] + [
        {"id": "local", "type": "local", "display_name": {"vi": "Tài khoản cán bộ"}},
        {"id": "chip", "type": "cccd-chip", "csca_bundle": str(chips.csca_bundle), "csca_crl": str(chips.csca_crl),
         "require_active_authentication": False, "face_matcher": "faces"},
        {"id": "faces", "type": "testing-face"},
    ]
    (root / "adapters.yaml").write_text(yaml.safe_dump({"adapters": adapters}, allow_unicode=True))
    (root / "policies").mkdir()
    (root / "policies" / "default.yaml").write_text(yaml.safe_dump(_policy(None, "vneid-l1", ["openid", "profile"])))
    (root / "policies" / "ekyc.yaml").write_text(yaml.safe_dump(_policy("ekyc", "cccd-chip",
                                                                        ["openid", "profile", "vn_id"])))
    env = {"IDP_DATA_DIR": str(root / "var"), "IDP_ADAPTERS_FILE": str(root / "adapters.yaml"),
           "IDP_POLICIES_DIR": str(root / "policies")}
    portal = ["--secret-stdin"]
    ekyc = [*EKYC.cli_args(root), "--scope", "vn_id"]  # a restricted scope: the strict profile
    for client_id, extra in (("portal", portal), ("ekyc", ekyc)):
        result = call_idp(["clients", "add", client_id, "--name", f"Dịch vụ {client_id}", *extra,
                          "--redirect-uri", f"http://127.0.0.1:9/{client_id}/cb", "--scope", "openid",
                          "--scope", "profile", "--grant-type", "authorization_code"],
                         env | {"IDP_AUTO_MIGRATE": "true"}, stdin=SECRET + "\n")
        assert result.returncode == 0, result.stderr
    official = call_idp(["users", "add", OFFICIAL, "--password-stdin"], env, stdin=PASSWORD + "\n")
    assert official.returncode == 0, official.stderr
    with running_server(env | {"IDP_LOGIN_BACKOFF_SECONDS": "0"}) as base:
        yield Deployment(base, chips, env)


@pytest.fixture
def browsers() -> Iterator[list[Browser]]:
    opened: list[Browser] = []
    yield opened
    for browser in opened:
        browser.close()


def _signed_in(deployment: Deployment, browsers: list[Browser], person_index: int = 0) -> Browser:
    """A browser signed in at vneid-l1 as ``PEOPLE[person_index]`` (at a client that needs no more)."""
    browser = Browser(deployment.base)
    browsers.append(browser)
    run = AuthorizationRun("portal", "http://127.0.0.1:9/portal/cb", scope="openid profile")
    login = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    link = re.search(rf'href="(/interaction/[^"]+/upstream/test{person_index})"', login.text)
    assert link, login.text[-1500:]
    done = _consented(browser, browser.follow(browser.http.get(unescape(link.group(1))), stop_at=run.redirect_uri),
                      run)
    assert done.status_code in (302, 303), done.text[-3000:]
    assert "code" in callback_params(done)
    return browser


def _consented(browser: Browser, response: httpx.Response, run: AuthorizationRun) -> httpx.Response:
    if response.status_code == 200 and 'name="decision"' in response.text:
        return browser.follow(browser.submit(response, {"decision": "allow"}), stop_at=run.redirect_uri)
    return response


VERIFIED_CLAIMS_REQUEST = json.dumps({"id_token": {"verified_claims": {
    "verification": {"trust_framework": None}, "claims": {"name": None, "birthdate": None, "address": None}}}})


def _chip_page(browser: Browser) -> tuple[AuthorizationRun, httpx.Response]:
    """Start a sign-in at the client that needs cccd-chip: the login page offers the chip; its page."""
    run = PushedRun("ekyc", "http://127.0.0.1:9/ekyc/cb", scope="openid profile vn_id",
                    extra={"claims": VERIFIED_CLAIMS_REQUEST}, base=browser.base, client=EKYC)
    login = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    assert login.status_code == 200
    link = re.search(r'href="(/interaction/[^"]+/chip/chip)"', login.text)
    assert link, "the login page offers the chip ID card to a person signed in lower"
    page = browser.http.get(unescape(link.group(1)))
    assert page.status_code == 200 and TOKEN.search(page.text)
    return run, page


def _token(page: httpx.Response) -> str:
    match = TOKEN.search(page.text)
    assert match
    return unescape(match.group(1))


def _read(base: str, token: str, chip: Chip, *, selfie: bytes | None = None) -> httpx.Response:
    """What a reader does: fetch the nonce, have the chip sign it, post the card and a selfie."""
    headers = {"Authorization": f"Bearer {token}"}
    challenge = httpx.get(base + "/api/ekyc/v1/challenge", headers=headers)
    assert challenge.status_code == 200, challenge.text
    assert challenge.json()["requires"] == {"selfie": True, "active_authentication": False}
    body = chip.upload(base64.b64decode(challenge.json()["nonce"]))
    image = face_image(chip.data_groups[2])
    assert image is not None
    body["selfie"] = base64.b64encode(selfie if selfie is not None else image).decode()
    return httpx.post(base + "/api/ekyc/v1/reads", headers=headers, json=body)


def _exchange(deployment: Deployment, run: AuthorizationRun, response: httpx.Response) -> dict:
    params = callback_params(response)
    tokens = httpx.post(deployment.base + "/token", data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": run.redirect_uri,
        "code_verifier": run.verifier, **EKYC.auth(deployment.base)})
    assert tokens.status_code == 200, tokens.text
    keys = KeySet.import_key_set(httpx.get(deployment.base + "/jwks").json())
    return dict(jwt.decode(tokens.json()["id_token"], keys).claims)


def test_each_card_is_verified_or_refused_with_its_reason_over_http(deployment: Deployment,
                                                                   browsers: list[Browser]) -> None:
    browser = _signed_in(deployment, browsers)
    _, page = _chip_page(browser)
    for chip in deployment.chips.chips:
        response = _read(deployment.base, _token(page), chip)
        if chip.refusal is None:
            assert (response.status_code, response.json()["result"]) == (200, "verified"), (chip.label, response.text)
        else:
            assert response.status_code == 422, (chip.label, response.text)
            assert response.json() | {"detail": None} == {"result": "refused", "reason": chip.refusal, "detail": None}
        page = browser.http.get(str(page.request.url))  # a new ticket for the next card


def test_a_person_is_stepped_up_by_their_own_card_only(deployment: Deployment, browsers: list[Browser]) -> None:
    browser = _signed_in(deployment, browsers, 1)
    run, page = _chip_page(browser)
    someone_else = deployment.chips.by_label("rsa-aa-sha256")  # PEOPLE[0]'s card
    assert _read(deployment.base, _token(page), someone_else).status_code == 200
    refused = browser.submit(page, {})
    assert refused.status_code == 403 and "chip_other_person" not in refused.text
    assert "Thẻ của người khác" in refused.text
    own = deployment.chips.by_label("ecdsa-aa-ecdsa")  # PEOPLE[1]'s card, with active authentication
    assert _read(deployment.base, _token(refused), own).status_code == 200
    done = _consented(browser, browser.follow(browser.submit(refused, {}), stop_at=run.redirect_uri), run)
    assert done.status_code in (302, 303), done.text[:500]
    claims = _exchange(deployment, run, done)
    assert claims["acr"] == deployment.base + "/acr/cccd-chip"
    assert set(claims["amr"]) >= {"sc", "face"}
    verified = claims["verified_claims"]  # OpenID Connect for Identity Assurance 1.0, as the card says
    assert verified["verification"]["trust_framework"] == "vn_cccd_chip"
    (evidence,) = verified["verification"]["evidence"]
    assert evidence["type"] == "document" and evidence["document_details"]["type"] == "idcard"
    assert evidence["document_details"]["document_number"] == PEOPLE[1].id_number
    assert [c["check_method"] for c in evidence["check_details"]] == ["vcrypt", "bvr"]
    assert set(verified["claims"]) == {"name", "birthdate", "address"}  # what the request named, no more
    assert verified["claims"]["name"] == PEOPLE[1].full_name
    assert verified["claims"]["birthdate"] == PEOPLE[1].birth.isoformat()
    assert verified["claims"]["address"]["formatted"] == PEOPLE[1].residence
    events = call_idp(["audit", "export", "--format", "jsonl"], deployment.env)
    lines = [json.loads(line) for line in events.stdout.splitlines() if line.strip()]
    mismatch = [e for e in lines if e.get("type") == "stepup" and e.get("reason") == "personal_id_mismatch"]
    assert mismatch, "the other person's card is audited"
    assert PEOPLE[0].id_number not in events.stdout and PEOPLE[1].id_number not in events.stdout


def test_a_face_that_does_not_match_is_refused(deployment: Deployment, browsers: list[Browser]) -> None:
    browser = _signed_in(deployment, browsers)
    _, page = _chip_page(browser)
    response = _read(deployment.base, _token(page), deployment.chips.genuine()[0], selfie=b"another face")
    assert response.status_code == 422 and response.json()["reason"] == "face_mismatch"


def test_tokens_are_single_use_and_bad_uploads_get_clear_answers(deployment: Deployment,
                                                                  browsers: list[Browser]) -> None:
    browser = _signed_in(deployment, browsers)
    _, page = _chip_page(browser)
    token = _token(page)
    url = deployment.base + "/api/ekyc/v1/reads"
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.post(url, json={}).status_code == 401
    assert httpx.post(url, headers={"Authorization": "Bearer nope"}, json={}).status_code == 401
    assert httpx.post(url, headers=bearer, content=b"{not json", timeout=10).status_code == 400
    huge = httpx.post(url, headers=bearer, content=b"[" + b" " * 700_000 + b"]")
    assert huge.status_code == 413
    hostile = httpx.post(url, headers=bearer, json={"sod": base64.b64encode(b"\x77\x84\xff\xff\xff\xff").decode(),
                                                    "dg1": "", "dg13": "AAAA"})
    assert hostile.status_code == 422 and hostile.json()["reason"] in {"upload_malformed", "sod_malformed"}
    assert httpx.post(url, headers=bearer, json={}).status_code == 401  # used up by the refused upload
    metadata = httpx.get(deployment.base + "/.well-known/openid-configuration").json()
    assert metadata["verified_claims_supported"] is True
    assert metadata["trust_frameworks_supported"] == ["vn_cccd_chip"]
    assert metadata["documents_check_methods_supported"] == ["bvr", "vcrypt"]  # no registry check configured
    assert deployment.base + "/acr/cccd-chip" in metadata["acr_values_supported"]
    document = httpx.get(deployment.base + "/api/ekyc/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/api/ekyc/v1/challenge", "/api/ekyc/v1/reads", "/api/ekyc/v1/openapi.json"}
    assert urljoin(deployment.base, "/") == document["servers"][0]["url"] + "/"


def test_without_a_session_the_person_signs_in_first_and_is_then_offered_the_card(
        deployment: Deployment, browsers: list[Browser]) -> None:
    browser = Browser(deployment.base)
    browsers.append(browser)
    run = PushedRun("ekyc", "http://127.0.0.1:9/ekyc/cb", scope="openid profile", base=browser.base, client=EKYC)
    login = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    link = re.search(r'href="(/interaction/[^"]+/upstream/test0)"', login.text)
    assert link and "/chip/" not in login.text  # the card lifts a sign-in: sign in first
    unmet = browser.follow(browser.http.get(unescape(link.group(1))), stop_at=run.redirect_uri)
    assert unmet.status_code == 200 and "thẻ căn cước gắn chip" in unmet.text  # how to reach cccd-chip
    other_way = re.search(r'href="(/interaction/[^"]+/login)"', unmet.text)
    assert other_way
    again = browser.http.get(unescape(other_way.group(1)))
    assert re.search(r'href="/interaction/[^"]+/chip/chip"', again.text)


def _official_with_totp(deployment: Deployment, browsers: list[Browser]) -> Browser:
    """An official who enrolled TOTP on the account page and signed in again with it (local-mfa)."""
    browser = Browser(deployment.base)
    browsers.append(browser)
    page = browser.follow(browser.http.get("/account"), stop_at="http://127.0.0.1:9")
    browser.follow(browser.submit(page, {"username": OFFICIAL, "password": PASSWORD}), stop_at="x")
    enrolment = browser.http.get("/account/totp")
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', enrolment.text).group(1).replace(" ", "")
    assert browser.submit(enrolment, {"code": pyotp.TOTP(secret).now()}).status_code == 200
    browser.http.cookies.clear()
    page = browser.follow(browser.http.get("/account"), stop_at="http://127.0.0.1:9")
    second = browser.follow(browser.submit(page, {"username": OFFICIAL, "password": PASSWORD}), stop_at="x")
    assert 'name="code"' in second.text
    browser.follow(browser.submit(second, {"code": pyotp.TOTP(secret).at(time.time() + 30)}), stop_at="x")
    return browser


def test_at_the_counter_an_official_gets_a_signed_statement_of_the_card(deployment: Deployment,
                                                                         browsers: list[Browser]) -> None:
    citizen = _signed_in(deployment, browsers)  # VNeID level 1: no official
    assert citizen.http.get("/counter/ekyc").status_code == 403
    official = _official_with_totp(deployment, browsers)
    page = official.http.get("/counter/ekyc")
    assert page.status_code == 200, page.text[-1500:]
    card = deployment.chips.by_label("ecdsa-aa-ecdsa")
    assert _read(deployment.base, _token(page), card).status_code == 200
    done = official.submit(page, {"service_request": "000.00.01.H01-261207-0001"})
    assert done.status_code == 200
    statement = re.search(r'<code class="secret" id="statement">([^<]+)</code>', done.text)
    assert statement
    keys = httpx.get(deployment.base + "/jwks").json()
    header = jose_jwt.get_unverified_header(statement.group(1))
    claims = jose_jwt.decode(statement.group(1), keys, algorithms=["ES256", "RS256"], issuer=deployment.base)
    assert header["typ"] == "ekyc-statement+jwt"
    assert claims["service_request"] == "000.00.01.H01-261207-0001"
    assert claims["verifier"]["username"] == OFFICIAL and claims["verifier"]["acr"].endswith("/acr/local-mfa")
    document = claims["verified_claims"]["verification"]["evidence"][0]["document_details"]
    assert document["document_number"] == card.person.id_number
    assert claims["verified_claims"]["claims"]["name"] == card.person.full_name
    again = official.submit(done, {"service_request": "000.00.01.H01-261207-0002"})
    assert again.status_code == 409  # no card read for this new ticket: no statement
