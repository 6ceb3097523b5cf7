"""Logging out of a session begun at VNeID (or the national portal) ends the upstream session too,
and the upstream ID token — it carries the personal ID number — never travels in a URL: the
browser posts it to VNeID's logout endpoint from a form, and an upstream configured for GET
logout gets ``client_id`` and ``logout_hint`` only. At rest it is sealed inside the server-side
session: the raw Redis records hold no readable upstream token nor personal ID number.

A running ``idp serve`` (embedded; PostgreSQL + Redis) whose upstreams are the national sandbox;
the browser is an HTTP client that submits the pages' forms and records every redirect."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import redis

from idp.sandbox import NationalSandbox
from tests.conftest import postgres_redis_env
from tests.functional.browser_client import AuthorizationRun, Browser, forms
from tests.functional.helpers import call_idp, running_server
from tests.functional.test_federation_browser import (
    CITIZEN,
    UPSTREAM_CLIENT,
    consent_and_code,
    upstream_sign_in,
    write_configuration,
)

BYE = "http://127.0.0.1:9/portal/bye"
PORTAL_SECRET = "portal-secret-0123456789-0123456789"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@dataclass
class Federated:
    base: str
    env: dict[str, str]
    sandbox: NationalSandbox

    def redis_values(self, pattern: str = "*") -> dict[str, str]:
        """Every raw value this server keeps in Redis under its prefix (empty when embedded)."""
        if "IDP_REDIS_URL" not in self.env:
            return {}
        client = redis.Redis.from_url(self.env["IDP_REDIS_URL"])
        try:
            values = {}
            for key in client.scan_iter(match=self.env["IDP_REDIS_PREFIX"] + pattern, count=1000):
                if client.type(key) == b"string":
                    values[key.decode()] = (client.get(key) or b"").decode("utf-8", "replace")
            return values
        finally:
            client.close()


@pytest.fixture(scope="module", params=["embedded", "postgres+redis"])
def federated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federated]:
    root = Path(tmp_path_factory.mktemp("federated-logout"))
    with NationalSandbox.start([UPSTREAM_CLIENT]) as sandbox:
        entries = sandbox.adapter_configs(UPSTREAM_CLIENT)
        entries[1]["logout_method"] = "get"  # the national portal: as if it took GET only
        env = write_configuration(root, entries)
        if request.param == "postgres+redis":
            env |= postgres_redis_env(request)
        args = ["clients", "add", "portal", "--secret-stdin", "--name", "Dịch vụ portal",
                "--redirect-uri", "http://127.0.0.1:9/portal/cb", "--post-logout-redirect-uri", BYE]
        args += ["--scope", "openid", "--scope", "profile"]  # the personal ID number is not even asked for
        added = call_idp(args, env | {"IDP_AUTO_MIGRATE": "true"}, stdin=PORTAL_SECRET + "\n")
        assert added.returncode == 0, added.stderr
        with running_server(env) as base:
            yield Federated(base, env, sandbox)


def upstream_tokens_in(text: str, issuer: str) -> list[str]:
    """The JWTs in ``text`` that the upstream issued (their payload names it as ``iss``)."""
    found = []
    for token in JWT.findall(text):
        payload = token.split(".")[1]
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            continue
        if isinstance(claims, dict) and claims.get("iss") == issuer:
            found.append(token)
    return found


def signed_in(federated: Federated, adapter: str) -> Browser:
    browser = Browser(federated.base)
    portal = AuthorizationRun("portal", "http://127.0.0.1:9/portal/cb", scope="openid profile")
    consent_and_code(browser, portal, upstream_sign_in(browser, portal, adapter, CITIZEN[0]))
    return browser


def log_out(browser: Browser) -> tuple[httpx.Response, list[str]]:
    """Log out at the provider (confirming on its page) and follow everything the pages say to do,
    posting an auto-submitted form as a browser would, up to the relying party; the last answer
    and every URL the browser was sent to."""
    confirm = browser.http.get("/logout", params={"client_id": "portal", "post_logout_redirect_uri": BYE,
                                                  "state": "bye-1"})
    assert confirm.status_code == 200 and 'name="decision"' in confirm.text
    response = browser.submit(confirm, {"decision": "logout"})
    visited: list[str] = []
    for _ in range(10):
        if response.status_code in (302, 303):
            target = urljoin(str(response.request.url), response.headers["location"])
            visited.append(target)
            if target.startswith(BYE):
                return response, visited
            response = browser.http.get(target)
        elif response.status_code == 200 and 'id="form-post"' in response.text:
            action, fields, _ = forms(response.text)[0]
            visited.append(action)
            response = browser.http.post(action, data=fields)
        else:
            return response, visited
    raise AssertionError("redirect loop")


def test_vneid_logout_posts_the_id_token_and_no_url_carries_it(federated: Federated) -> None:
    vneid = federated.sandbox.vneid
    browser = signed_in(federated, "vneid")
    try:
        live = set(vneid.sessions)
        confirm = browser.http.get("/logout", params={"client_id": "portal"})
        assert "eyJ" not in confirm.text  # the confirmation page does not carry it either
        page = browser.submit(confirm, {"decision": "logout"})
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        action, fields, _ = forms(page.text)[0]
        assert action == vneid.issuer + "/protocol/openid-connect/logout"
        assert upstream_tokens_in(fields["id_token_hint"], vneid.issuer) == [fields["id_token_hint"]]
        assert "Đang đăng xuất" in page.text and "<script" in page.text  # submitted on load
        assert urlsplit(vneid.base_url).netloc in page.headers["content-security-policy"]  # form-action
        answer = browser.http.post(action, data=fields)
        assert answer.status_code == 303
        assert upstream_tokens_in(answer.headers["location"], vneid.issuer) == []
        ended = vneid.logouts[-1]
        assert ended["method"] == "POST" and ended["ended"] in live and ended["url_params"] == []
        assert ended["ended"] not in vneid.sessions
        back = browser.http.get(answer.headers["location"])
        assert back.status_code == 200 and "Bạn đã đăng xuất" in back.text
    finally:
        browser.close()


def test_every_redirect_of_the_logout_is_free_of_the_token(federated: Federated) -> None:
    browser = signed_in(federated, "vneid")
    try:
        final, visited = log_out(browser)
        assert final.status_code == 303 and final.headers["location"] == BYE + "?state=bye-1"
        assert len(visited) >= 3  # the upstream's endpoint, our return, the relying party
        for url in visited:
            assert "id_token_hint" not in url and not JWT.search(url), url
        assert federated.sandbox.vneid.logouts[-1]["ended"] is not None
    finally:
        browser.close()


def test_an_upstream_logging_out_by_get_gets_client_id_and_logout_hint_only(federated: Federated) -> None:
    dvcqg = federated.sandbox.dvcqg
    browser = signed_in(federated, "dvcqg")
    try:
        live = set(dvcqg.sessions)
        final, visited = log_out(browser)
        assert final.headers["location"] == BYE + "?state=bye-1"
        to_upstream = next(url for url in visited if url.startswith(dvcqg.base_url))
        query = parse_qs(urlsplit(to_upstream).query)
        assert set(query) == {"client_id", "post_logout_redirect_uri", "logout_hint"}
        assert query["client_id"] == [UPSTREAM_CLIENT.client_id] and query["logout_hint"][0] in live
        assert CITIZEN[0] not in to_upstream and not JWT.search(to_upstream)
        ended = dvcqg.logouts[-1]
        assert ended["method"] == "GET" and ended["ended"] == query["logout_hint"][0]
    finally:
        browser.close()


# Redis only: the in-process store lives inside the server (tests/unit/sessions/test_session_sealing.py reads it).
@pytest.mark.parametrize("federated", ["postgres+redis"], indirect=True)
def test_the_session_store_holds_no_readable_upstream_token(federated: Federated) -> None:
    browser = signed_in(federated, "vneid")
    try:
        sessions = federated.redis_values("session:*")
        assert sessions, "the signed-in session is in Redis"
        for key, raw in sessions.items():
            record = json.loads(raw)
            assert CITIZEN[0] not in raw, key
            assert upstream_tokens_in(raw, federated.sandbox.vneid.issuer) == [], key
            assert set(record["upstream"]) <= {"sealed"}
        assert any(json.loads(raw)["upstream"] for raw in sessions.values())  # kept, sealed
        everything = "\n".join(federated.redis_values().values())
        assert upstream_tokens_in(everything, federated.sandbox.vneid.issuer) == []
        final, _ = log_out(browser)  # and the sealed record still ends the upstream session
        assert final.headers["location"] == BYE + "?state=bye-1"
        assert federated.sandbox.vneid.logouts[-1]["ended"] is not None
    finally:
        browser.close()
