"""In Chromium: a citizen signed in with VNeID at level 1 (the national sandbox) is stepped up by
reading their chip ID card (a reader posting over HTTP, the testing face matcher, the sandbox's
population registry confirming the card) and reaches a
relying party whose policy needs ``cccd-chip``; the relying party's ID token, verified with
python-jose, carries ``verified_claims`` matching the card."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from adapters.testing.face import face_image
from idp.sandbox import NationalSandbox, SandboxClient
from idp.sandbox.citizens import CITIZENS
from tests.browser.relying_party import (
    LoopbackRelyingParty,
    authorize_url,
    landed_params,
    on_provider,
    record_csp_by_page,
    redeem,
)
from tests.functional.helpers import call_idp, running_server
from tests.functional.strict_rp import PushedRun, StrictClient
from tests.unit.ekyc.chips import Chip, Person, chip_for, make_chip_set

UPSTREAM_CLIENT = SandboxClient("provincial-idp", "sandbox-secret-0123456789")
CITIZEN = next(c for c in CITIZENS if c.eid_level == 1)  # a VNeID level-1 account
SERVICE = StrictClient("dichvu")  # vn_id (verified_claims) is restricted: the strict profile
PORTAL_SECRET = "s3cret-of-the-citizen-portal-0123456789"
CLAIMS_REQUEST = json.dumps({"id_token": {"verified_claims": {
    "verification": {"trust_framework": None, "evidence": None},
    "claims": {"name": None, "birthdate": None, "gender": None, "address": None}}}})


@dataclass(frozen=True)
class Deployment:
    base: str
    rp: LoopbackRelyingParty
    card: Chip


def _policy(client_id: str | None, minimum: str, scopes: list[str]) -> dict[str, Any]:
    return {"version": 1, "adapters": ["vneid", "chip"], "minimum_acr": minimum, "mfa_required": False,
            "scopes": scopes, "subject_type": "pairwise", "step_up_window_seconds": 600,
            **({"client_id": client_id} if client_id else {})}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = Path(tmp_path_factory.mktemp("ekyc-browser"))
    chips = make_chip_set(root / "chips")
    person = Person(CITIZEN.personal_id, CITIZEN.full_name, CITIZEN.birthdate, "Nam" if CITIZEN.gender == "male"
                    else "Nữ", "Xã Hòa Tiến, Hòa Vang, Đà Nẵng", "Số 3 đường Trần Phú, phường Hải Châu, Đà Nẵng",
                    "Lê Văn Hải", "Nguyễn Thị Lan")
    rp = LoopbackRelyingParty()
    rp.start()
    try:
        with NationalSandbox.start([UPSTREAM_CLIENT]) as sandbox:
            vneid = sandbox.adapter_configs(UPSTREAM_CLIENT)[0] | {"acr_map": {"1": "vneid-l1"}, "timeout_seconds": 5}
            adapters = [vneid,
                        {"id": "chip", "type": "cccd-chip", "csca_bundle": str(chips.csca_bundle),
                         "csca_crl": str(chips.csca_crl), "face_matcher": "faces", "registry_check": "c06"},
                        {"id": "faces", "type": "testing-face"}, sandbox.registry_adapter_config()]
            (root / "adapters.yaml").write_text(yaml.safe_dump({"adapters": adapters}, allow_unicode=True))
            (root / "policies").mkdir()
            (root / "policies" / "default.yaml").write_text(yaml.safe_dump(_policy(None, "vneid-l1",
                                                                                   ["openid", "profile"])))
            (root / "policies" / "dichvu.yaml").write_text(yaml.safe_dump(_policy("dichvu", "cccd-chip",
                                                                                  ["openid", "profile", "vn_id"])))
            env = {"IDP_DATA_DIR": str(root / "var"), "IDP_ADAPTERS_FILE": str(root / "adapters.yaml"),
                   "IDP_POLICIES_DIR": str(root / "policies")}
            for args, stdin in (
                (["clients", "add", "congdan", "--secret-stdin", "--scope", "openid", "--scope", "profile"],
                 PORTAL_SECRET + "\n"),
                (["clients", "add", "dichvu", *SERVICE.cli_args(root), "--scope", "openid", "--scope", "profile",
                  "--scope", "vn_id", "--name", "Dịch vụ cần đối chiếu thẻ căn cước"], None),
            ):
                added = call_idp([*args, "--redirect-uri", rp.redirect_uri(args[2])],
                                 env | {"IDP_AUTO_MIGRATE": "true"}, stdin=stdin)
                assert added.returncode == 0, added.stderr
            with running_server(env) as base:
                yield Deployment(base, rp, chip_for(person))
    finally:
        rp.stop()


def allow_if_asked(page: Any) -> None:
    if "/consent" in page.url:
        page.get_by_role("button", name="Đồng ý").click()


def reader_posts(base: str, token: str, card: Chip) -> dict[str, Any]:
    """The phone app: the nonce, the chip's answer, the card and a selfie, over HTTP."""
    headers = {"Authorization": f"Bearer {token}"}
    nonce = base64.b64decode(httpx.get(base + "/api/ekyc/v1/challenge", headers=headers).json()["nonce"])
    body = card.upload(nonce) | {"selfie": base64.b64encode(face_image(card.data_groups[2]) or b"").decode()}
    answer = httpx.post(base + "/api/ekyc/v1/reads", headers=headers, json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_vneid_level_1_citizen_is_stepped_up_by_their_chip_card(page: Any, deployment: Deployment) -> None:
    base, rp, card = deployment.base, deployment.rp, deployment.card
    csp = record_csp_by_page(page)
    portal = rp.run("congdan", "openid profile")
    page.goto(authorize_url(base, portal))
    page.locator("a[href$='/upstream/vneid']").click()
    page.locator(f"input[name=citizen][value='{CITIZEN.personal_id}']").check()
    page.get_by_role("button", name="Đồng ý và đăng nhập").click()
    page.wait_for_url(f"{base}/**")
    allow_if_asked(page)
    first = redeem(base, portal, landed_params(page, portal)["code"], PORTAL_SECRET)["id_token"]
    assert first["acr"] == f"{base}/acr/vneid-l1"

    service = PushedRun("dichvu", rp.redirect_uri("dichvu"), scope="openid profile vn_id",
                        extra={"claims": CLAIMS_REQUEST}, base=base, client=SERVICE)
    page.goto(authorize_url(base, service))
    page.get_by_role("link", name="Xác thực bằng Thẻ căn cước gắn chip").click()
    assert page.locator("h1").inner_text() == "Xác thực bằng thẻ căn cước gắn chip"
    assert page.locator("img.qr").count() == 1
    token = page.locator("#upload-token").get_attribute("data-token")
    assert token and reader_posts(base, token, card)["active_authentication"] == "rsa-iso9796-2"
    page.get_by_role("button", name="Tôi đã đọc thẻ xong, tiếp tục").click()
    page.wait_for_url(f"{base}/interaction/*/consent")
    assert "thẻ căn cước gắn chip" in page.locator("main").inner_text()  # consent says what it reveals
    page.get_by_role("button", name="Đồng ý").click()
    params = landed_params(page, service)

    claims = redeem(base, service, params["code"], SERVICE.auth(base))["id_token"]  # python-jose verifies it
    assert claims["acr"] == f"{base}/acr/cccd-chip"
    verified = claims["verified_claims"]
    assert verified["verification"]["trust_framework"] == "vn_cccd_chip"
    (evidence,) = verified["verification"]["evidence"]
    assert evidence["document_details"]["document_number"] == CITIZEN.personal_id
    assert [c["check_method"] for c in evidence["check_details"]] == ["vcrypt", "bvr", "data"]
    assert evidence["check_details"][2]["txn"]  # the (simulated) registry's transaction id
    assert set(verified["claims"]) == {"name", "birthdate", "gender", "address"}  # as requested
    assert verified["claims"]["name"] == CITIZEN.full_name
    assert verified["claims"]["birthdate"] == CITIZEN.birthdate.isoformat()
    assert verified["claims"]["gender"] == CITIZEN.gender
    assert verified["claims"]["address"]["formatted"] == card.person.residence
    assert on_provider(csp, base) == []
