"""The console's page of the plan's figures against a running ``idp serve``: after a person signs
in to a service, the auditor sees the month's sign-ins and people by level of assurance (SVG bars
drawn on the server, no script) and the row of that service; the provider's own pages are not a
service; a bad month gets this month with a message, never an error."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from idp.ui.filters import VIETNAM_TIME
from tests.functional.browser_client import AuthorizationRun, Browser, sign_in
from tests.functional.test_console import PASSWORD, Auditor, Deployment, auditor, deployment  # noqa: F401


def test_the_month_of_sign_ins_by_level(deployment: Deployment, auditor: Auditor) -> None:  # noqa: F811
    person = Browser(deployment.base)
    try:
        sign_in(person, AuthorizationRun("portal", "http://127.0.0.1:9/portal/cb", scope="openid"), "canbo03", PASSWORD)
    finally:
        person.close()
    page = auditor.browser.http.get("/console/report", params={"ui_locales": "vi"})
    assert page.status_code == 200 and "<svg" in page.text and "<script" not in page.text
    month = datetime.now(UTC).astimezone(VIETNAM_TIME).strftime("%Y-%m")
    assert f'value="{month}"' in page.text and "Số liệu xác thực điện tử theo tháng" in page.text
    bars = dict(re.findall(r'<rect [^>]*data-level="([a-z0-9-]+)" data-count="(\d+)"', page.text))
    assert int(bars["local-basic"]) >= 1
    services = re.findall(r'<tr data-service="([^"]+)">', page.text)
    assert "portal" in services and not any(s.startswith("vnidp-") for s in services)
    assert 'aria-current="page">Số liệu kế hoạch' in page.text

    wrong = auditor.browser.http.get("/console/report", params={"month": "2026-13", "ui_locales": "en"})
    assert wrong.status_code == 200 and "Not a valid month; showing this month." in wrong.text
    assert f'value="{month}"' in wrong.text
