"""A citizen signs in "with VNeID" (and through the national portal) in a browser at a running
``idp serve`` whose upstreams are the national sandbox, and reaches two provincial services with
one sign-in. Forged upstream answers end on a readable page with an audit event and no session.

Only HTTP, as people and relying parties see it; ID tokens verified with python-jose.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
import yaml
from jose import jwt as jose_jwt

from idp.sandbox import NationalSandbox, SandboxClient
from tests.functional.browser_client import AuthorizationRun, Browser, callback_params, forms
from tests.functional.helpers import call_idp, running_server
from tests.functional.strict_rp import PushedRun, StrictClient

UPSTREAM_CLIENT = SandboxClient("provincial-idp", "sandbox-secret-0123456789")  # any loopback callback
CLIENTS = {client_id: StrictClient(client_id) for client_id in ("portal", "motcua")}  # vn_id, vn_eid: strict profile
CITIZEN = ("048193004567", "Trần Thị Bích Ngọc")
POLICY = {
    "version": 1, "description": "Dịch vụ công cấp tỉnh: đăng nhập bằng định danh điện tử",
    "adapters": ["local", "vneid", "dvcqg"], "minimum_acr": "local-basic", "mfa_required": False,
    "scopes": ["openid", "profile", "vn_id", "vn_eid"], "subject_type": "pairwise",
    "session_lifetime_seconds": 3600,
}  # fmt: skip


class Deployment:
    def __init__(self, base: str, data: Path, sandbox: NationalSandbox) -> None:
        self.base, self.data, self.sandbox = base, data, sandbox

    def redirect_uri(self, client_id: str) -> str:
        return f"http://127.0.0.1:9/{client_id}/cb"


def write_configuration(root: Path, entries: list[dict]) -> dict[str, str]:
    """A local adapter and the sandbox's upstream ``entries``, under :data:`POLICY`, written below
    ``root``: the server's environment."""
    local = {"id": "local", "type": "local", "display_name": {"vi": "Tài khoản nội bộ"}}
    (root / "adapters.yaml").write_text(yaml.safe_dump({"adapters": [local, *entries]}, allow_unicode=True))
    (root / "policies").mkdir()
    (root / "policies" / "default.yaml").write_text(yaml.safe_dump(POLICY, allow_unicode=True))
    return {"IDP_DATA_DIR": str(root / "var"), "IDP_ADAPTERS_FILE": str(root / "adapters.yaml"),
            "IDP_POLICIES_DIR": str(root / "policies")}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = Path(tmp_path_factory.mktemp("federation"))
    with NationalSandbox.start([UPSTREAM_CLIENT]) as sandbox:
        entries = sandbox.adapter_configs(UPSTREAM_CLIENT)
        entries[0]["acr_map"] = {"1": "vneid-l1"}  # as agreed with the national operator (sandbox)
        for entry in entries:
            entry["timeout_seconds"] = 2
        env = write_configuration(root, entries)
        for client_id, client in CLIENTS.items():
            args = ["clients", "add", client_id, "--name", f"Dịch vụ {client_id}", *client.cli_args(root),
                    "--redirect-uri", f"http://127.0.0.1:9/{client_id}/cb"]
            for scope in POLICY["scopes"]:
                args += ["--scope", scope]
            result = call_idp(args, env | {"IDP_AUTO_MIGRATE": "true"})
            assert result.returncode == 0, result.stderr
        with running_server(env) as base:
            yield Deployment(base, root / "var", sandbox)


@pytest.fixture
def browser(deployment: Deployment) -> Iterator[Browser]:
    sandbox = deployment.sandbox
    person = Browser(deployment.base)
    yield person
    person.close()
    sandbox.vneid.set_mode("normal")
    sandbox.dvcqg.set_mode("normal")


def upstream_sign_in(browser: Browser, run: AuthorizationRun, adapter: str, personal_id: str,
                     before_callback: Callable[[], None] | None = None) -> httpx.Response:
    """From the relying party's /authorize to the answer after the upstream's callback."""
    page = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    assert page.status_code == 200, page.text[:1000]
    link = re.search(rf'href="([^"]*/upstream/{adapter})"', page.text)
    assert link, "the login page offers the upstream"
    upstream_page = browser.follow(browser.http.get(urljoin(str(page.request.url), link.group(1))),
                                   stop_at=run.redirect_uri)  # fmt: skip
    assert upstream_page.status_code == 200 and "Đồng ý" in upstream_page.text
    action, fields, _ = forms(upstream_page.text)[0]
    answer = browser.http.post(action, data={**fields, "citizen": personal_id, "decision": "allow"})
    if before_callback is not None:
        before_callback()
    return browser.follow(answer, stop_at=run.redirect_uri)


def consent_and_code(browser: Browser, run: AuthorizationRun, response: httpx.Response) -> dict[str, str]:
    if response.status_code == 200 and 'name="decision"' in response.text:
        response = browser.follow(browser.submit(response, {"decision": "allow"}), stop_at=run.redirect_uri)
    assert response.status_code in (302, 303), response.text[:1000]
    params = callback_params(response)
    assert params["state"] == run.state and "code" in params
    return params


def redeem(dep: Deployment, run: AuthorizationRun, code: str) -> dict[str, dict]:
    tokens = httpx.post(dep.base + "/token", timeout=30,
                        data={"grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
                              "code_verifier": run.verifier, **CLIENTS[run.client_id].auth(dep.base)}).json()
    jwks = httpx.get(dep.base + "/jwks").json()
    id_token = jose_jwt.decode(tokens["id_token"], jwks, algorithms=["ES256", "RS256"], audience=run.client_id,
                               issuer=dep.base, access_token=tokens["access_token"])  # fmt: skip
    userinfo = httpx.get(dep.base + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    return {"id_token": id_token, "userinfo": userinfo}


def count_subjects(dep: Deployment) -> int:
    with sqlite3.connect(dep.data / "idp.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM subjects").fetchone()[0])


def run_for(dep: Deployment, client_id: str) -> AuthorizationRun:
    return PushedRun(client_id, dep.redirect_uri(client_id), scope="openid profile vn_id vn_eid", base=dep.base,
                     client=CLIENTS[client_id])


def test_one_vneid_sign_in_reaches_two_services(deployment: Deployment, browser: Browser) -> None:
    portal = run_for(deployment, "portal")
    params = consent_and_code(browser, portal, upstream_sign_in(browser, portal, "vneid", CITIZEN[0]))
    first = redeem(deployment, portal, params["code"])
    assert first["id_token"]["acr"] == deployment.base + "/acr/vneid-l1"
    assert first["userinfo"]["name"] == CITIZEN[1] and first["userinfo"]["family_name"] == "Trần"
    assert first["userinfo"]["middle_name"] == "Thị Bích" and first["userinfo"]["given_name"] == "Ngọc"
    assert first["id_token"]["sub"] != CITIZEN[0] and CITIZEN[0] not in str(first["id_token"])

    motcua = run_for(deployment, "motcua")  # the second service: no upstream sign-in again
    response = browser.follow(browser.http.get("/authorize", params=motcua.params()), stop_at=motcua.redirect_uri)
    assert "upstream/vneid" not in response.text
    second = redeem(deployment, motcua, consent_and_code(browser, motcua, response)["code"])
    assert second["id_token"]["sub"] != first["id_token"]["sub"]  # pairwise per service
    assert second["userinfo"]["name"] == CITIZEN[1]


def test_the_vn_id_scope_releases_the_personal_id_number(deployment: Deployment, browser: Browser) -> None:
    portal = run_for(deployment, "portal")
    params = consent_and_code(browser, portal, upstream_sign_in(browser, portal, "vneid", CITIZEN[0]))
    assert redeem(deployment, portal, params["code"])["userinfo"].get("vn_personal_id") == CITIZEN[0]


def test_the_portal_sign_in_finds_the_same_person(deployment: Deployment) -> None:
    subs = []
    for adapter in ("vneid", "dvcqg"):
        person = Browser(deployment.base)
        try:
            portal = run_for(deployment, "portal")
            code = consent_and_code(person, portal, upstream_sign_in(person, portal, adapter, "049066000321"))["code"]
            tokens = redeem(deployment, portal, code)
        finally:
            person.close()
        subs.append(tokens["id_token"]["sub"])
        if adapter == "dvcqg":
            assert tokens["id_token"]["acr"] == deployment.base + "/acr/vneid-l1"  # LoA1 mapped
            assert tokens["userinfo"]["birthdate"] == "1966-09-19"
    assert subs[0] == subs[1]


@pytest.mark.parametrize("mode", ["bad_signature", "wrong_aud", "expired", "alg_none", "missing_personal_id"])
def test_a_forged_upstream_answer_ends_on_a_page_with_an_audit_event(
    deployment: Deployment, browser: Browser, mode: str
) -> None:
    deployment.sandbox.vneid.set_mode(mode)
    people_before = count_subjects(deployment)
    portal = run_for(deployment, "portal")
    response = upstream_sign_in(browser, portal, "vneid", "046186012345")
    assert response.status_code == 400 and "<html" in response.text.lower()
    assert "Traceback" not in response.text
    assert count_subjects(deployment) == people_before  # no person was created
    again = browser.follow(browser.http.get("/authorize", params=portal.params()), stop_at=portal.redirect_uri)
    assert again.status_code == 200 and "/upstream/vneid" in again.text  # and no session: sign in again
    with sqlite3.connect(deployment.data / "idp.sqlite3") as db:
        reasons = [row[0] for row in db.execute("SELECT reason FROM audit_events WHERE type = 'signin' "
                                                "AND outcome = 'failure' AND adapter = 'vneid'")]  # fmt: skip
    expected = {"bad_signature": "bad_signature", "wrong_aud": "wrong_audience", "expired": "expired",
                "alg_none": "alg_not_allowed", "missing_personal_id": "missing_personal_id"}[mode]  # fmt: skip
    assert expected in reasons


@pytest.mark.parametrize(("adapter", "mode"), [("vneid", "down"), ("dvcqg", "slow")])
def test_an_upstream_down_or_slow_ends_on_a_page_within_the_timeout(
    deployment: Deployment, browser: Browser, adapter: str, mode: str
) -> None:
    provider = getattr(deployment.sandbox, adapter)
    provider.slow_seconds = 8

    def break_upstream() -> None:
        provider.set_mode(mode)

    portal = run_for(deployment, "portal")
    started = time.monotonic()
    response = upstream_sign_in(browser, portal, adapter, "049085001234", before_callback=break_upstream)
    assert time.monotonic() - started < 6  # the adapter's timeout is 2 s, the upstream would take 8
    assert response.status_code == 503 and "Traceback" not in response.text
    with sqlite3.connect(deployment.data / "idp.sqlite3") as db:
        reasons = {row[0] for row in db.execute("SELECT reason FROM audit_events WHERE adapter = ?", (adapter,))}
    assert {"upstream_unavailable", "upstream_timeout"} & reasons


def test_loa2_asked_of_a_vneid_l1_session_is_sent_to_step_up(deployment: Deployment, browser: Browser) -> None:
    portal = run_for(deployment, "portal")
    consent_and_code(browser, portal, upstream_sign_in(browser, portal, "vneid", CITIZEN[0]))
    stronger = PushedRun("motcua", deployment.redirect_uri("motcua"), scope="openid profile",
                         extra={"acr_values": "LoA2"}, base=deployment.base, client=CLIENTS["motcua"])
    page = browser.follow(browser.http.get("/authorize", params=stronger.params()), stop_at=stronger.redirect_uri)
    assert page.status_code == 200 and "upstream/" in page.text  # a sign-in page, not a code
    silent = PushedRun("motcua", deployment.redirect_uri("motcua"), scope="openid profile",
                       extra={"acr_values": "LoA2", "prompt": "none"}, base=deployment.base, client=CLIENTS["motcua"])
    answer = browser.http.get("/authorize", params=silent.params())
    params = callback_params(answer)
    assert "code" not in params and params["error"] == "unmet_authentication_requirements"
