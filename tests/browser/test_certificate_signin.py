"""Certificate sign-in in Chromium: an official's key on the SoftHSM2 token (their USB token), the
reference signing tool on loopback signing the page's challenge, the provider checking the chain
against the test PKI with OCSP/CRL on loopback; the relying party gets acr …/acr/pki-hw. Revoked,
expired and untrusted certificates stay on our page with their reason in plain words. A service whose
policy needs pki-hw steps a lower sign-in of the same person up to the token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asn1crypto import x509 as asn1_x509

from idp.pki.signing_tool import SigningTool, TokenSigner
from idp.sandbox.remote_signing import KeySigner, RemoteSigningService, RemoteUser
from tests.browser.relying_party import LoopbackRelyingParty, authorize_url, landed_params, redeem
from tests.functional.helpers import call_idp, running_server
from tests.functional.strict_rp import PushedRun, StrictClient
from tests.unit.keys.softhsm import SoftHsm, softhsm  # noqa: F401 - fixture
from tests.unit.pki.support import TestPki, test_pki, test_pki_server  # noqa: F401 - fixtures
from tests.unit.pki.token import put_on_token

SECRET = "cert-rp-secret-0123456789-0123456789"
HOSO = StrictClient("hoso")  # vn_cert is restricted: the strict profile (PAR, private_key_jwt)
CLIENT = "motcua"
SIGNING = "kyhoso"  # a service for signing case files: its policy needs pki-hw
REMOTE_USER = "CCCD:079099000222"  # the remote-signing citizen of the test PKI


@pytest.fixture(scope="module")
def remote_signing(test_pki_server: tuple[TestPki, Any]) -> Iterator[RemoteSigningService]:  # noqa: F811
    """The remote-signing simulator holding the remote-signing citizen's key (their phone app: the
    simulator's confirm and refuse endpoints)."""
    pki, _ = test_pki_server
    service = RemoteSigningService(users={REMOTE_USER: RemoteUser(KeySigner(pki["remote"].key),
                                                                  chain_of(pki, "remote"))})
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, test_pki_server: tuple[TestPki, Any],  # noqa: F811
               softhsm: SoftHsm, remote_signing: RemoteSigningService,  # noqa: F811
               ) -> Iterator[tuple[str, LoopbackRelyingParty, SigningTool, SoftHsm]]:
    """``idp serve`` whose one source is the certificate adapter (every client needs pki-remote or
    more), a loopback relying party, the signing tool holding the official's key, and the
    remote-signing simulator."""
    pki, _ = test_pki_server
    folder = Path(tmp_path_factory.mktemp("certificate-browser"))
    for name in ("official", "revoked", "expired", "untrusted"):
        put_on_token(softhsm, pki[name], name)
    tool = SigningTool(signer_for(softhsm, "official"), chain_of(pki, "official"), allowed_origins=[])
    tool.serve_in_thread()
    (folder / "adapters.yaml").write_text(
        "adapters:\n  - id: chukyso\n    type: certificate\n"
        "    display_name: {vi: chữ ký số (USB token), en: digital signature (USB token)}\n"
        f"    levels: [pki-hw, pki-remote]\n    signing_tool_url: {tool.url}\n"
        f"    remote_signing_url: {remote_signing.base_url}\n    remote_signing_api_key: {remote_signing.api_key}\n",
        encoding="utf-8")
    (folder / "policies").mkdir()
    (folder / "policies" / "default.yaml").write_text(
        "version: 1\nadapters: [chukyso]\nminimum_acr: pki-remote\nscopes: [openid, profile, vn_cert]\n",
        encoding="utf-8")
    env = {"IDP_DATA_DIR": str(folder / "var"), "IDP_ADAPTERS_FILE": str(folder / "adapters.yaml"),
           "IDP_POLICIES_DIR": str(folder / "policies"), "IDP_TRUST_FILE": str(pki.trust_file()),
           "IDP_ALLOW_LOOPBACK_CLIENT_URLS": "true"}
    rp = LoopbackRelyingParty()
    rp.start()
    try:
        added = call_idp(["clients", "add", CLIENT, "--secret-stdin", "--redirect-uri", rp.redirect_uri(CLIENT),
                         "--name", "Hệ thống một cửa", "--scope", "openid", "--scope", "profile", "--trusted"],
                        env | {"IDP_AUTO_MIGRATE": "true"}, stdin=SECRET + "\n")
        assert added.returncode == 0, added.stderr
        args = ["clients", "add", "hoso", *HOSO.cli_args(folder), "--redirect-uri", rp.redirect_uri("hoso"),
                "--name", "Hệ thống quản lý hồ sơ", "--scope", "openid", "--scope", "profile", "--scope", "vn_cert"]
        strict = call_idp(args, env | {"IDP_AUTO_MIGRATE": "true"})
        assert strict.returncode == 0, strict.stderr
        with running_server(env) as base:
            tool.allowed = frozenset({base})
            yield base, rp, tool, softhsm
    finally:
        tool.close()
        rp.stop()


def signer_for(hsm: SoftHsm, label: str) -> TokenSigner:
    return TokenSigner(hsm.module, hsm.token_label, hsm.pin, label)


def chain_of(pki: TestPki, name: str) -> list[asn1_x509.Certificate]:
    return [asn1_x509.Certificate.load(c.der) for c in pki[name].chain()]


def sign_with_token(page: Any, base: str, rp: LoopbackRelyingParty) -> Any:
    run = rp.run(CLIENT, "openid profile")
    page.goto(authorize_url(base, run))
    page.get_by_role("link", name="Đăng nhập bằng chữ ký số (USB token)").click()
    page.wait_for_url(f"{base}/interaction/*/certificate/chukyso")
    page.get_by_role("button", name="Ký và đăng nhập").click()
    return run


def test_an_official_signs_in_with_the_usb_token(page: Any, deployment: tuple, test_pki: TestPki) -> None:  # noqa: F811
    base, rp, tool, hsm = deployment
    tool.signer, tool.chain = signer_for(hsm, "official"), chain_of(test_pki, "official")
    signed = tool.signed
    run = sign_with_token(page, base, rp)
    params = landed_params(page, run)
    assert tool.signed == signed + 1
    result = redeem(base, run, params["code"], SECRET)
    claims = result["id_token"]
    assert claims["acr"] == f"{base}/acr/pki-hw" and claims["amr"] == ["hwk", "pin"]
    assert result["userinfo"]["name"] == "Trần Thị Bình"
    assert page.csp_errors == []
    discovery = httpx.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
    assert {f"{base}/acr/pki-hw", f"{base}/acr/pki-remote"} <= set(discovery["acr_values_supported"])


def test_the_certificate_claims_are_released_under_the_restricted_scope(page: Any, deployment: tuple,
                                                                       test_pki: TestPki) -> None:  # noqa: F811
    """vn_cert is restricted: a strict-profile client, named on the consent page, then released."""
    base, rp, tool, hsm = deployment
    tool.signer, tool.chain = signer_for(hsm, "official"), chain_of(test_pki, "official")
    run = PushedRun("hoso", rp.redirect_uri("hoso"), scope="openid profile vn_cert", base=base, client=HOSO)
    page.goto(authorize_url(base, run))
    page.get_by_role("link", name="Đăng nhập bằng chữ ký số (USB token)").click()
    page.get_by_role("button", name="Ký và đăng nhập").click()
    page.wait_for_url(f"{base}/interaction/*/consent")
    page.get_by_role("button", name="Đồng ý").click()
    info = redeem(base, run, landed_params(page, run)["code"], HOSO.auth(base))["userinfo"]
    assert info["vn_cert_uid"] == "CCCD:034088000123"
    assert info["vn_cert_serial"] == format(test_pki["official"].cert.serial_number, "X")
    assert "Ban Cơ yếu Chính phủ" in info["vn_cert_issuer"]


@pytest.mark.parametrize(("name", "words"), [
    ("revoked", "đã bị thu hồi"),
    ("expired", "đã hết hạn"),
    ("untrusted", "không do tổ chức cung cấp dịch vụ chứng thực được tin cậy cấp"),
])
def test_refused_certificates_say_why(page: Any, deployment: tuple, test_pki: TestPki,  # noqa: F811
                                      name: str, words: str) -> None:
    base, rp, tool, hsm = deployment
    tool.signer, tool.chain = signer_for(hsm, name), chain_of(test_pki, name)
    sign_with_token(page, base, rp)
    page.wait_for_selector("[role=alert]")
    assert page.url.startswith(f"{base}/interaction/")  # still with us: the relying party got nothing
    assert words in page.get_by_role("alert").inner_text()
    assert page.csp_errors == []


def start_remote_signing(page: Any, base: str, rp: LoopbackRelyingParty) -> Any:
    """A citizen asks for remote signing with their personal ID number; the page then waits."""
    run = rp.run(CLIENT, "openid profile")
    page.goto(authorize_url(base, run))
    page.get_by_role("link", name="Đăng nhập bằng chữ ký số (USB token)").click()
    page.get_by_label("Số định danh cá nhân (12 chữ số)").fill(REMOTE_USER.removeprefix("CCCD:"))
    page.get_by_role("button", name="Gửi yêu cầu ký đến điện thoại").click()
    page.get_by_text("Trang này tự chuyển tiếp").wait_for()
    assert not page.get_by_role("button", name="Tiếp tục").is_visible()  # nothing to press: the page waits
    return run


def on_the_phone(service: RemoteSigningService, decision: str) -> None:
    """The person answers in the phone app (the simulator's endpoint for it)."""
    request_id = service.pending_for(REMOTE_USER)
    assert request_id is not None
    assert httpx.post(f"{service.base_url}/phone/{request_id}/{decision}", timeout=10).status_code == 200


def test_remote_signing_continues_by_itself_once_confirmed_on_the_phone(
        page: Any, deployment: tuple, remote_signing: RemoteSigningService) -> None:
    base, rp, _, _ = deployment
    run = start_remote_signing(page, base, rp)
    page.wait_for_timeout(2500)  # a poll or two while nothing is confirmed: still waiting
    assert page.url.startswith(f"{base}/interaction/") and page.get_by_text("Trang này tự chuyển tiếp").is_visible()
    on_the_phone(remote_signing, "confirm")
    params = landed_params(page, run)  # the page moved on by itself to the relying party
    claims = redeem(base, run, params["code"], SECRET)["id_token"]
    assert claims["acr"] == f"{base}/acr/pki-remote" and claims["amr"] == ["swk"]
    assert page.csp_errors == []


def test_remote_signing_refused_on_the_phone_says_so(page: Any, deployment: tuple,
                                                    remote_signing: RemoteSigningService) -> None:
    base, rp, _, _ = deployment
    start_remote_signing(page, base, rp)
    on_the_phone(remote_signing, "refuse")
    page.wait_for_selector("[role=alert]")
    assert page.url.startswith(f"{base}/interaction/")
    assert "Yêu cầu ký đã bị từ chối trên điện thoại." in page.get_by_role("alert").inner_text()
    assert page.csp_errors == []


@pytest.fixture(scope="module")
def step_up_deployment(tmp_path_factory: pytest.TempPathFactory, test_pki_server: tuple[TestPki, Any],  # noqa: F811
                       softhsm: SoftHsm) -> Iterator[tuple[str, LoopbackRelyingParty, SigningTool]]:  # noqa: F811
    """A lower source (the testing adapter) whose official has the personal ID number of the official's certificate,
    the certificate adapter, and a second service whose policy needs pki-hw."""
    pki, _ = test_pki_server
    folder = Path(tmp_path_factory.mktemp("certificate-step-up"))
    put_on_token(softhsm, pki["official"], "official")
    tool = SigningTool(signer_for(softhsm, "official"), chain_of(pki, "official"), allowed_origins=[])
    tool.serve_in_thread()
    (folder / "adapters.yaml").write_text(
        "adapters:\n  - id: canbo\n    type: testing\n    display_name: {vi: Tài khoản cán bộ, en: Staff account}\n"
        "    users:\n      binh.tran:\n        password: mot-mat-khau-du-dai-0123\n"
        "        claims: {vn_personal_id: \"034088000123\", name: Trần Thị Bình}\n"
        "  - id: chukyso\n    type: certificate\n"
        "    display_name: {vi: chữ ký số (USB token), en: digital signature (USB token)}\n"
        f"    signing_tool_url: {tool.url}\n", encoding="utf-8")
    (folder / "policies").mkdir()
    (folder / "policies" / "default.yaml").write_text(
        "version: 1\nadapters: [canbo, chukyso]\nminimum_acr: local-basic\nscopes: [openid, profile]\n",
        encoding="utf-8")
    (folder / "policies" / f"{SIGNING}.yaml").write_text(
        f"version: 1\nclient_id: {SIGNING}\nadapters: [canbo, chukyso]\nminimum_acr: pki-hw\n"
        "scopes: [openid, profile]\n", encoding="utf-8")
    env = {"IDP_DATA_DIR": str(folder / "var"), "IDP_ADAPTERS_FILE": str(folder / "adapters.yaml"),
           "IDP_POLICIES_DIR": str(folder / "policies"), "IDP_TRUST_FILE": str(pki.trust_file()),
           "IDP_ALLOW_LOOPBACK_CLIENT_URLS": "true"}
    rp = LoopbackRelyingParty()
    rp.start()
    try:
        for client_id in (CLIENT, SIGNING):
            added = call_idp(["clients", "add", client_id, "--secret-stdin", "--redirect-uri",
                             rp.redirect_uri(client_id), "--name", client_id, "--scope", "openid", "--scope",
                             "profile", "--trusted"], env | {"IDP_AUTO_MIGRATE": "true"}, stdin=SECRET + "\n")
            assert added.returncode == 0, added.stderr
        with running_server(env) as base:
            tool.allowed = frozenset({base})
            yield base, rp, tool
    finally:
        tool.close()
        rp.stop()


def test_a_service_needing_pki_hw_steps_a_lower_sign_in_up_to_the_token(page: Any, step_up_deployment: tuple) -> None:
    base, rp, tool = step_up_deployment
    first = rp.run(CLIENT, "openid profile")
    page.goto(authorize_url(base, first))
    page.get_by_role("link", name="Đăng nhập bằng Tài khoản cán bộ").click()  # the test source: no form to fill
    signed_in = redeem(base, first, landed_params(page, first)["code"], SECRET)["id_token"]
    assert signed_in["acr"] == f"{base}/acr/local-basic"

    second = rp.run(SIGNING, "openid profile")  # the signing service: its policy needs pki-hw
    page.goto(authorize_url(base, second))
    assert page.get_by_role("link", name="Đăng nhập bằng Tài khoản cán bộ").count() == 0  # too low for it
    page.get_by_role("link", name="Đăng nhập bằng chữ ký số (USB token)").click()
    page.wait_for_url(f"{base}/interaction/*/certificate/chukyso")
    page.get_by_role("button", name="Ký và đăng nhập").click()
    stepped = redeem(base, second, landed_params(page, second)["code"], SECRET)["id_token"]
    assert stepped["acr"] == f"{base}/acr/pki-hw"
    # one session of one person: the password sign-in's method, then the token's (linked by personal ID)
    assert stepped["amr"] == ["pwd", "hwk", "pin"]
    assert page.csp_errors == []
