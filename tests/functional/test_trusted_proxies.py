"""The client address behind reverse proxies (``IDP_TRUSTED_PROXIES``): the right-most
``X-Forwarded-For`` entry that is not one of our proxies, as the audit trail records it and the
per-address sign-in throttle counts it. A client cannot forge it by putting addresses of its own
in front, nor switch the throttle off with a value that is not an address. Against a running
``idp serve`` whose proxy is the test itself (it connects from 127.0.0.1)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.browser_client import AuthorizationRun, Browser
from tests.functional.helpers import IDP, call_idp, free_port, running_server

PASSWORD = "một câu mật khẩu dài đủ dùng"
REDIRECT_URI = "http://127.0.0.1:9/portal/cb"
IP_THRESHOLD = 10
SERVER_ENV = {
    "IDP_TRUSTED_PROXIES": '["127.0.0.0/8", "10.0.0.0/8"]',  # the test's connection, and a proxy tier
    "IDP_LOGIN_IP_THRESHOLD": str(IP_THRESHOLD),
    "IDP_LOGIN_BACKOFF_SECONDS": "0",
    "IDP_LOGIN_LOCK_THRESHOLD": "100",
}


class Proxied:
    def __init__(self, base: str, env: dict[str, str]) -> None:
        self.base, self.env = base, env

    def attempt(self, forwarded_for: str, username: str, password: str) -> int:
        """One sign-in at the login form, every request carrying ``forwarded_for``; the status."""
        browser = Browser(self.base)
        browser.http.headers["X-Forwarded-For"] = forwarded_for
        try:
            run = AuthorizationRun("portal", REDIRECT_URI)
            login = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=REDIRECT_URI)
            assert login.status_code == 200 and 'name="password"' in login.text, login.text[:500]
            return browser.submit(login, {"username": username, "password": password}).status_code
        finally:
            browser.close()

    def failure_addresses(self, username: str) -> list[str | None]:
        """The addresses the audit trail recorded for failed sign-ins of ``username``."""
        exported = call_idp(["audit", "export", "--format", "jsonl"], self.env)
        assert exported.returncode == 0, exported.stderr
        events = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
        return [e.get("ip") for e in events
                if e["type"] == "signin" and e["outcome"] == "failure" and e.get("username") == username]


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    env = {"IDP_DATA_DIR": str(Path(tmp_path_factory.mktemp("proxied")) / "var")}
    setup = env | {"IDP_AUTO_MIGRATE": "true"}
    client = call_idp(["clients", "add", "portal", "--secret-stdin", "--redirect-uri", REDIRECT_URI],
                     setup, stdin="s3cret-of-the-relying-party-portal-0123456789\n")
    assert client.returncode == 0, client.stderr
    user = call_idp(["users", "add", "canbo01", "--password-stdin", "--name", "Trần Thị Bình"], setup,
                   stdin=PASSWORD + "\n")
    assert user.returncode == 0, user.stderr
    with running_server(env | SERVER_ENV) as base:
        yield Proxied(base, env)


def test_a_forged_left_most_address_does_not_reach_the_audit_trail(proxied: Proxied) -> None:
    username = "gia.mao." + secrets.token_hex(3)
    assert proxied.attempt("198.51.100.66, 203.0.113.9", username, "not the password") == 401
    assert proxied.failure_addresses(username) == ["203.0.113.9"]


def test_the_right_most_hop_that_is_not_our_proxy_is_the_client(proxied: Proxied) -> None:
    username = "nhieu.chang." + secrets.token_hex(3)
    assert proxied.attempt("198.51.100.66, 203.0.113.10, 10.1.2.3, 10.9.8.7", username, "wrong") == 401
    assert proxied.attempt("2001:db8::1, 2001:DB8:0:0::7", username, "wrong") == 401
    assert proxied.failure_addresses(username) == ["203.0.113.10", "2001:db8::7"]


@pytest.mark.parametrize("value", ["unknown", "203.0.113.11:4711", "_hidden, <script>", ""])
def test_a_value_that_is_not_an_address_gives_the_connections_address(proxied: Proxied, value: str) -> None:
    username = "khong.phai.ip." + secrets.token_hex(3)
    assert proxied.attempt(value, username, "wrong") == 401
    assert proxied.failure_addresses(username) == ["127.0.0.1"]


def test_forged_left_most_addresses_do_not_dodge_the_address_throttle(proxied: Proxied) -> None:
    """Many accounts guessed from one address, each attempt claiming another origin in front."""
    for i in range(IP_THRESHOLD):
        assert proxied.attempt(f"198.51.100.{i + 1}, 203.0.113.20", f"doan.{i}", "wrong") == 401
    refused = proxied.attempt("198.51.100.200, 203.0.113.20", "canbo01", PASSWORD)
    assert refused == 429  # even the right password: the address is refused for a while
    assert proxied.attempt("203.0.113.21", "canbo01", PASSWORD) in (302, 303)  # another client is not


def test_a_value_that_is_not_an_address_does_not_switch_the_throttle_off(proxied: Proxied) -> None:
    """Garbage in X-Forwarded-For counts against the connection's address (here the proxy's)."""
    for i in range(IP_THRESHOLD):  # (the address may be refused sooner: the tests above failed from it too)
        assert proxied.attempt(f"not-an-address-{i}", f"rac.{i}", "wrong") in (401, 429)
    assert proxied.attempt("still-not-an-address", "canbo01", PASSWORD) == 429


def test_the_replaced_boolean_stops_start_up_naming_its_replacement(tmp_path: Path) -> None:
    env = {"IDP_DATA_DIR": str(tmp_path / "var"), "IDP_TRUST_FORWARDED_FOR": "true"}
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    result = subprocess.run([*IDP, "serve", "--port", str(free_port())], capture_output=True, text=True,
                            timeout=60, env=inherited | env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "IDP_TRUST_FORWARDED_FOR" in lines[0] and "IDP_TRUSTED_PROXIES" in lines[0]
    assert "Traceback" not in result.stderr
