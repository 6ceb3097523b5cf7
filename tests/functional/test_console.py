"""The security staff console against a running ``idp serve``: an auditor with TOTP signs in and
sees events; others get a 403 page; filters, timelines, pagination, the API from the console
session, and the failed sign-in chart."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pyotp
import pytest

from tests.functional.browser_client import AuthorizationRun, Browser
from tests.functional.helpers import call_idp, running_server

PASSWORD = "một câu mật khẩu dài đủ dùng"
NOWHERE = "http://127.0.0.1:9/"  # follow every redirect that stays on the provider


@dataclass
class Deployment:
    base: str
    env: dict[str, str]


@dataclass
class Auditor:
    browser: Browser
    secret: str
    recovery_codes: list[str]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    env = {"IDP_DATA_DIR": str(Path(tmp_path_factory.mktemp("console")) / "var"), "IDP_LOGIN_BACKOFF_SECONDS": "0"}
    assert call_idp(["clients", "add", "portal", "--public", "--name", "Cổng dịch vụ công",
                    "--redirect-uri", "http://127.0.0.1:9/portal/cb"], env).returncode == 0
    for username, roles in (("kiemtoan01", ["--role", "auditor"]), ("kiemtoan02", ["--role", "auditor"]),
                            ("canbo03", [])):
        added = call_idp(["users", "add", username, "--password-stdin", "--name", f"Cán bộ {username}", *roles], env,
                        stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    with running_server(env) as base:
        yield Deployment(base, env)


def sign_in_page(browser: Browser, path: str, username: str, password: str = PASSWORD) -> object:
    page = browser.follow(browser.http.get(path), stop_at=NOWHERE)
    assert page.status_code == 200 and 'name="password"' in page.text, page.text[:500]
    return browser.follow(browser.submit(page, {"username": username, "password": password}), stop_at=NOWHERE)


def enrol_totp(browser: Browser, username: str, password: str = PASSWORD, *,
               at: float | None = None) -> tuple[str, list[str]]:
    """``at``: the time of the first code (a code of a step the person already used is refused)."""
    page = sign_in_page(browser, "/account", username, password)
    assert "/account/totp" in page.text
    enrolment = browser.http.get("/account/totp")
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', enrolment.text).group(1).replace(" ", "")
    done = browser.submit(enrolment, {"code": pyotp.TOTP(secret).at(time.time() if at is None else at)})
    assert done.status_code == 200
    return secret, re.findall(r"<li><code>([^<]+)</code>", done.text)


@pytest.fixture(scope="module")
def auditor(deployment: Deployment) -> Iterator[Auditor]:
    """kiemtoan01 enrols TOTP, then opens the console: the password-only session is sent to the
    second-factor page, and the code opens the console."""
    browser = Browser(deployment.base)
    secret, codes = enrol_totp(browser, "kiemtoan01")
    mfa = browser.follow(browser.http.get("/console"), stop_at=NOWHERE)
    assert mfa.status_code == 200 and 'name="code"' in mfa.text, mfa.text[:500]
    page = browser.follow(browser.submit(mfa, {"code": pyotp.TOTP(secret).at(time.time() + 30)}), stop_at=NOWHERE)
    assert page.status_code == 200 and page.url.path == "/console", page.text[:500]
    yield Auditor(browser, secret, codes)
    browser.close()


def rows(html: str) -> list[dict[str, str]]:
    """The events of a console table: seq, type code, outcome class, and the row's text."""
    found = []
    for outcome, seq, body in re.findall(r'<tr class="outcome-(\w+)" data-seq="(\d+)">(.*?)</tr>', html, re.S):
        found.append({"seq": seq, "outcome": outcome, "type": re.search(r"<code>([^<]+)</code>", body).group(1),
                      "text": unescape(re.sub(r"<[^>]+>", " ", body))})
    return found


def test_an_auditor_with_totp_signs_in_and_sees_events(deployment: Deployment, auditor: Auditor) -> None:
    page = auditor.browser.http.get("/console")
    assert page.status_code == 200
    assert "Tra cứu nhật ký kiểm toán" in page.text and "Đang đăng nhập: kiemtoan01" in page.text
    types = {r["type"] for r in rows(page.text)}
    assert {"signin", "signin.mfa", "account.created", "client.created"} <= types
    assert "form-action 'self'" in page.headers["content-security-policy"]

    # A fresh browser: password, then the second factor (a recovery code here), then the console.
    fresh = Browser(deployment.base)
    mfa = sign_in_page(fresh, "/console", "kiemtoan01")
    assert 'name="code"' in mfa.text
    page = fresh.follow(fresh.submit(mfa, {"code": auditor.recovery_codes[0]}), stop_at=NOWHERE)
    assert page.status_code == 200 and page.url.path == "/console" and "kiemtoan01" in page.text
    # The console session may read the audit API too.
    api = fresh.http.get("/audit/events", params={"type": "signin.mfa", "username": "kiemtoan01"})
    assert api.status_code == 200 and len(api.json()["events"]) >= 2
    fresh.close()


def test_others_get_a_403_page(deployment: Deployment) -> None:
    person = Browser(deployment.base)
    page = sign_in_page(person, "/console", "canbo03")
    assert page.status_code == 403 and "chưa được cấp vai trò kiểm toán viên" in page.text
    assert person.http.get("/audit/events").status_code == 401
    assert person.http.get("/console/failed-signins").status_code == 403
    person.close()

    # An auditor without a second factor is told to turn one on.
    no_factor = Browser(deployment.base)
    page = sign_in_page(no_factor, "/console", "kiemtoan02")
    assert page.status_code == 403 and "xác thực hai bước" in page.text and 'href="/account/totp"' in page.text
    english = no_factor.http.get("/console", params={"ui_locales": "en"})
    assert english.status_code == 403 and "requires two-step verification" in english.text
    no_factor.close()


def test_filters_and_timelines(deployment: Deployment, auditor: Auditor) -> None:
    # canbo03 fails once at the portal (wrong password), signs in there, then comes back to it
    # through single sign-on (a code issued from the session: code.issued).
    person = Browser(deployment.base)
    run = AuthorizationRun("portal", "http://127.0.0.1:9/portal/cb", scope="openid")
    login = person.follow(person.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    assert person.submit(login, {"username": "canbo03", "password": "not the password at all"}).status_code == 401
    login = person.follow(person.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    person.follow(person.submit(login, {"username": "canbo03", "password": PASSWORD}), stop_at=run.redirect_uri)
    again = AuthorizationRun("portal", "http://127.0.0.1:9/portal/cb", scope="openid")
    joined = person.follow(person.http.get("/authorize", params=again.params()), stop_at=again.redirect_uri)
    assert joined.status_code in (302, 303) and "code=" in joined.headers["location"]
    person.close()

    http = auditor.browser.http
    failed = rows(http.get("/console", params={"username": "canbo03", "outcome": "failure"}).text)
    assert [(r["type"], r["outcome"]) for r in failed] == [("signin", "failure")]
    assert "wrong_password" in failed[0]["text"] and "portal" in failed[0]["text"]
    signins = rows(http.get("/console", params={"type": "signin", "client_id": "portal"}).text)
    assert {r["outcome"] for r in signins} == {"success", "failure"}
    assert rows(http.get("/console", params={"type": "key.*"}).text)[0]["type"] == "key.generated"
    assert rows(http.get("/console", params={"ip": "198.51.100.7"}).text) == []
    future = http.get("/console", params={"since": "2999-01-01T00:00"})
    assert rows(future.text) == [] and "Không có sự kiện nào khớp" in future.text
    bad = http.get("/console", params={"since": "hôm qua", "type": "signin", "username": "canbo03"})
    assert 'aria-invalid="true"' in bad.text  # the other filters still apply:
    assert {r["outcome"] for r in rows(bad.text)} == {"success", "failure"}
    assert all(r["type"] == "signin" and "canbo03" in r["text"] for r in rows(bad.text))

    # One person's timeline: their sign-in and the attempt under their username.
    subject = http.get("/audit/events", params={"username": "canbo03", "type": "signin",
                                                 "outcome": "success"}).json()["events"][0]["subject"]
    timeline = http.get(f"/console/subjects/{subject}")
    assert timeline.status_code == 200 and "Cán bộ canbo03" in timeline.text
    assert {(r["type"], r["outcome"]) for r in rows(timeline.text)} >= {("signin", "success"), ("signin", "failure"),
                                                                        ("account.created", "success")}
    only_failures = rows(http.get(f"/console/subjects/{subject}", params={"outcome": "failure"}).text)
    assert [r["type"] for r in only_failures] == ["signin"]

    # One client's timeline, in English.
    client = http.get("/console/clients/portal", params={"ui_locales": "en"})
    assert client.status_code == 200 and "Timeline of the service Cổng dịch vụ công" in client.text
    assert {"client.created", "signin", "code.issued"} <= {r["type"] for r in rows(client.text)}


def test_cursor_pagination_walks_older_events(deployment: Deployment, auditor: Auditor) -> None:
    http = auditor.browser.http
    for _ in range(45):
        http.get("/console", params={"type": "logout"})  # each page view is itself an audited event
    seen: list[int] = []
    page = http.get("/console", params={"type": "admin.action"})
    while True:
        seen += [int(r["seq"]) for r in rows(page.text)]
        older = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        if not older:
            break
        page = http.get(unescape(older.group(1)))
        assert '<a href="/console?type=admin.action">' in page.text  # back to the newest page
    assert len(seen) == len(set(seen)) and seen == sorted(seen, reverse=True)
    assert len(seen) > 50  # more than one page
    api = http.get("/audit/events", params={"type": "admin.action", "limit": 500}).json()["events"]
    assert {e["seq"] for e in api} >= set(seen)


def test_failed_signin_chart(deployment: Deployment, auditor: Auditor) -> None:
    http = auditor.browser.http
    page = http.get("/console/failed-signins", params={"ui_locales": "vi"})
    assert page.status_code == 200 and "<svg" in page.text and "<script" not in page.text
    counts = [int(n) for n in re.findall(r'<rect [^>]*data-count="(\d+)"', page.text)]
    assert len(counts) == 24 and counts[-1] >= 1  # the wrong password of the filters test, this hour
    total = int(re.search(r"Tổng cộng: (\d+) lần thất bại", page.text).group(1))
    assert sum(counts) == total
    assert "wrong_password" in page.text
    week = http.get("/console/failed-signins", params={"period": "7d", "ui_locales": "en"})
    assert len(re.findall(r"<rect ", week.text)) == 7 and "Failed sign-ins over time" in week.text
    assert "unsafe-inline" not in week.headers["content-security-policy"]
