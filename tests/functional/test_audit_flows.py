"""Every flow of the OIDC core leaves its audit events, checked against a running ``idp serve`` on
both backends (embedded SQLite; PostgreSQL + Redis), read back with ``idp audit export --format
jsonl``; ``idp audit verify`` passes afterwards."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.functional.browser_client import AuthorizationRun, Browser, callback_params, forms
from tests.functional.helpers import call_idp
from tests.functional.oidc_fixtures import PASSWORD, SECRET, Deployment

Event = dict[str, Any]


@dataclass
class Trail:
    """What the flows did (to find their events) and the exported events."""

    events: list[Event] = field(default_factory=list)
    subject: str | None = None
    grants: dict[str, str] = field(default_factory=dict)

    def find(self, type_: str, **fields: Any) -> list[Event]:
        return [e for e in self.events if e["type"] == type_ and all(e.get(k) == v for k, v in fields.items())]

    def one(self, type_: str, predicate: Callable[[Event], bool] = lambda e: True, **fields: Any) -> Event:
        found = [e for e in self.find(type_, **fields) if predicate(e)]
        assert found, f"no {type_} event with {fields}; have {sorted({e['type'] for e in self.events})}"
        return found[-1]


def token(dep: Deployment, data: dict[str, str]) -> httpx.Response:
    return httpx.post(dep.base + "/token", data=data, auth=("portal", SECRET), timeout=30)


def authorize(dep: Deployment, browser: Browser, *, password: str | None = PASSWORD,
              username: str = "canbo01") -> tuple[AuthorizationRun, httpx.Response]:
    run = AuthorizationRun("portal", dep.redirect_uri("portal"), scope="openid profile offline_access")
    response = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    if response.status_code == 200 and 'name="password"' in response.text and password is not None:
        response = browser.follow(browser.submit(response, {"username": username, "password": password}),
                                  stop_at=run.redirect_uri)
    if response.status_code == 200 and 'name="decision"' in response.text:
        response = browser.follow(browser.submit(response, {"decision": "allow"}), stop_at=run.redirect_uri)
    return run, response


def code_and_tokens(dep: Deployment, browser: Browser) -> tuple[str, AuthorizationRun, dict[str, Any]]:
    run, response = authorize(dep, browser)
    assert response.status_code in (302, 303), response.text[:1000]
    code = callback_params(response)["code"]
    tokens = token(dep, {"grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
                         "code_verifier": run.verifier})
    assert tokens.status_code == 200, tokens.text
    return code, run, tokens.json()


def run_flows(dep: Deployment) -> Trail:
    trail = Trail()
    # Sign-in failures: an unknown user, a wrong password.
    failing = Browser(dep.base)
    for username, password in (("khong.ton.tai", PASSWORD), ("canbo01", "not the password of canbo01")):
        run = AuthorizationRun("portal", dep.redirect_uri("portal"))
        login = failing.follow(failing.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
        assert failing.submit(login, {"username": username, "password": password}).status_code == 401
    failing.close()

    # Sign-in, consent, code, tokens; refresh; the old refresh token replayed.
    first = Browser(dep.base)
    _, _, tokens = code_and_tokens(dep, first)
    refreshed = token(dep, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    replay = token(dep, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 400
    # Single sign-on: the same session reaches the client again without signing in.
    code_and_tokens(dep, first)
    first.close()

    # Another session: its refresh token revoked by the client; then the consent withdrawn on the
    # account page.
    second = Browser(dep.base)
    _, _, tokens = code_and_tokens(dep, second)
    assert httpx.post(dep.base + "/revoke", data={"token": tokens["refresh_token"]},
                      auth=("portal", SECRET)).status_code == 200
    account = second.http.get("/account")
    action, fields, _ = next(f for f in forms(account.text) if f[0] == "/account/revoke")
    assert fields["client_id"] == "portal"
    assert second.http.post(action, data=fields).status_code == 303

    # A third session: a code redeemed twice; then logout.
    third = Browser(dep.base)
    code, run, _ = code_and_tokens(dep, third)
    again = token(dep, {"grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
                        "code_verifier": run.verifier})
    assert again.status_code == 400
    page = third.http.get("/account")
    csrf = next(f[1]["csrf_token"] for f in forms(page.text) if "csrf_token" in f[1])
    assert third.http.post("/logout", data={"csrf_token": csrf, "decision": "logout"}).status_code in (200, 303)
    second.close()
    third.close()

    # A client removed by the operator.
    removed = call_idp(["clients", "remove", "spa"], dep.env)
    assert removed.returncode == 0, removed.stderr

    exported = call_idp(["audit", "export", "--format", "jsonl"], dep.env)
    assert exported.returncode == 0, exported.stderr
    trail.events = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    return trail


@pytest.fixture(scope="module")
def trail(deployment: Deployment) -> Iterator[Trail]:
    yield run_flows(deployment)


def test_sign_in_failures_name_their_reason(trail: Trail) -> None:
    unknown = trail.one("signin", outcome="failure", username="khong.ton.tai")
    assert unknown["reason"] == "unknown_user" and unknown["client_id"] == "portal" and unknown["adapter"] == "local"
    wrong = trail.one("signin", outcome="failure", username="canbo01")
    assert wrong["reason"] == "wrong_password" and wrong["ip"] == "127.0.0.1" and wrong["user_agent"]
    assert wrong["subject"] is None and wrong["request_id"]


def test_sign_in_consent_code_and_tokens(trail: Trail) -> None:
    signins = trail.find("signin", outcome="success", username="canbo01", client_id="portal")
    assert len(signins) == 3  # one per browser session
    signin = signins[0]
    assert signin["subject"] and signin["amr"] == ["pwd"] and signin["acr"].endswith("/acr/local-basic")
    assert signin["session_hash"] and len(signin["session_hash"]) == 64
    # The sign-in's own code has no event: the sign-in says what the client's policy releases.
    assert "openid" in signin["details"]["scope"] and signin["details"]["policy"]
    subject = signin["subject"]
    consent = trail.one("consent.granted", subject=subject, client_id="portal")
    assert "offline_access" in consent["details"]["scope"]
    issued = trail.find("token.issued", subject=subject, client_id="portal")
    assert len(issued) == 4 and all(e["details"]["grant_type"] == "authorization_code" for e in issued)
    assert issued[0]["details"]["refresh_token"] is True and issued[0]["amr"] == ["pwd"]
    assert issued[0]["acr"] == signin["acr"]
    refreshed = trail.one("token.refreshed", subject=subject, client_id="portal", outcome="success")
    assert refreshed["details"]["grant_type"] == "refresh_token"
    assert refreshed["details"]["grant_id"] == issued[0]["details"]["grant_id"]
    assert signin["seq"] < issued[0]["seq"] < refreshed["seq"]


def test_single_sign_on_join_records_its_code(trail: Trail) -> None:
    first = trail.find("signin", outcome="success", username="canbo01", client_id="portal")[0]
    # Only the code issued from the existing session, without a sign-in, has an event of its own.
    [joined] = trail.find("code.issued", client_id="portal")
    assert joined["subject"] == first["subject"] and joined["session_hash"] == first["session_hash"]
    assert joined["amr"] == ["pwd"] and joined["acr"] == first["acr"]
    assert joined["details"]["scope"] == first["details"]["scope"] and joined["details"]["policy"]
    tokens = [e for e in trail.find("token.issued", subject=first["subject"]) if e["seq"] > joined["seq"]]
    assert tokens and tokens[0]["details"]["grant_id"]


def test_reuse_of_refresh_tokens_and_codes_is_detected(trail: Trail) -> None:
    refresh = trail.one("token.reuse_detected", reason="refresh_token_reused", client_id="portal")
    assert refresh["outcome"] == "failure" and refresh["subject"] and refresh["details"]["grant_id"]
    code = trail.one("token.reuse_detected", reason="code_replayed")
    assert code["client_id"] == "portal", code
    assert code["outcome"] == "failure" and code["details"]["grant_id"]
    assert code["details"]["grant_id"] != refresh["details"]["grant_id"]


def test_revocation_withdrawal_and_logout(trail: Trail) -> None:
    revoked = trail.one("token.revoked", client_id="portal")
    assert revoked["details"]["token_type"] == "refresh_token" and revoked["subject"]
    withdrawn = trail.one("consent.withdrawn", client_id="portal")
    assert withdrawn["subject"] == revoked["subject"] and withdrawn["session_hash"]
    logout = trail.one("logout", subject=revoked["subject"])
    assert logout["details"]["clients"] == ["portal"] and logout["details"]["sid"]


def test_administration_events(trail: Trail) -> None:
    created = {e["client_id"] for e in trail.find("client.created")}
    assert {"portal", "motcua", "m2m", "spa"} <= created
    assert trail.one("client.removed", client_id="spa")["seq"] > trail.one("client.created", client_id="spa")["seq"]
    account = trail.one("account.created", username="canbo01")
    assert account["subject"] and account["details"]["kind"] == "official"
    keys = trail.find("key.generated")
    assert keys and all(e["details"]["kid"] and e["details"]["alg"] for e in keys)


def test_the_chain_verifies_after_every_flow(deployment: Deployment, trail: Trail) -> None:
    assert [e["seq"] for e in trail.events] == list(range(1, len(trail.events) + 1))
    verified = call_idp(["audit", "verify"], deployment.env)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ok: ")
