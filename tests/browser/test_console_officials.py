"""The security console for an auditor from the directory (a group of the real slapd mapped to the
``auditor`` role), with no separate local account: refused (and audited) while they have no second
factor, then opened once they signed in with one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.browser.relying_party import LoopbackRelyingParty, on_provider, record_csp_by_page
from tests.browser.test_passkeys import audit_events, deploy_officials, sign_in_with_password
from tests.data.ldap.slapd import SlapdServer
from tests.functional.helpers import running_server


@pytest.fixture(scope="module")
def deployment(slapd: SlapdServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    folder = Path(tmp_path_factory.mktemp("console-officials"))
    rp = LoopbackRelyingParty()
    rp.start()
    try:
        env = deploy_officials(slapd, folder, rp, roles={"van-thu": "auditor"})  # binh.tran is in van-thu
        with running_server(env) as base:
            yield base, env
    finally:
        rp.stop()


def test_a_directory_auditor_opens_the_console_with_a_second_factor_only(page: Any, deployment: tuple) -> None:
    base, env = deployment
    csp = record_csp_by_page(page)
    page.goto(f"{base}/console")
    assert page.locator("form h2").all_inner_texts() == ["Tài khoản cán bộ"]  # the directory
    sign_in_with_password(page, "binh.tran")
    assert page.locator("h1").inner_text() == "Không có quyền vào bảng điều khiển kiểm toán"
    assert "yêu cầu xác thực hai bước" in page.locator("main").inner_text()
    refused = [e for e in audit_events(env, "admin.action") if e["outcome"] == "denied"]
    assert [e["reason"] for e in refused] == ["no_second_factor"]

    page.get_by_role("link", name="Bật xác thực hai bước").click()  # enrols with the directory account
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Mã xác thực đang hiển thị trong ứng dụng").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Bật xác thực hai bước").click()
    assert page.locator("h1").inner_text() == "Mã khôi phục của bạn"

    page.goto(f"{base}/console")  # a password-only session: the second factor is asked first
    assert page.locator("h1").inner_text() == "Xác thực hai bước"
    page.get_by_label("Mã xác thực", exact=True).fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Xác nhận").click()
    page.wait_for_url(f"{base}/console")
    assert page.locator("h1").inner_text() == "Tra cứu nhật ký kiểm toán"
    views = [e for e in audit_events(env, "admin.action") if e["details"].get("action") == "console.view"]
    assert views and views[-1]["outcome"] == "success"
    signed_in = [e for e in audit_events(env, "signin") if e.get("client_id") == "vnidp-console"
                 and e["outcome"] == "success"]
    assert {"pwd", "otp", "mfa"} <= set(signed_in[-1]["amr"]) and signed_in[-1]["adapter"] == "officials"
    assert on_provider(csp, base) == []
