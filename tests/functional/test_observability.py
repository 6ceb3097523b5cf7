"""What operators watch, against a running ``idp serve``: the Prometheus endpoint on its own port
moves after a sign-in and a token (summed over two workers on PostgreSQL + Redis), and the server's
log lines are JSON objects, a sign-in's among them, without the person in them, and a warning
about a misspelt setting."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import postgres_redis_env
from tests.functional.browser_client import AuthorizationRun, Browser, sign_in
from tests.functional.helpers import free_port, running_server
from tests.functional.oidc_fixtures import PASSWORD, SECRET, _prepare

SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


@dataclass(frozen=True)
class Watched:
    base: str
    metrics_url: str
    log: Path


@pytest.fixture(scope="module", params=["embedded", "postgres+redis, 2 workers"])
def watched(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    folder = Path(tmp_path_factory.mktemp("observability"))
    env = {"IDP_DATA_DIR": str(folder / "var"), "IDP_AUTO_MIGRATE": "true"}
    extra: list[str] = []
    if request.param.startswith("postgres"):
        env |= postgres_redis_env(request)
        extra = ["--workers", "2"]
    _prepare(env)
    port = free_port()
    env |= {"IDP_METRICS_PORT": str(port), "IDP_LOG_FORMAT": "json", "IDP_LOG_EVENTS": "true",
            "IDP_METRICS_PROT": "9100"}  # misspelt: warned about at start-up
    log = folder / "server.log"
    with running_server(env, extra_args=extra, output=log) as base:
        yield Watched(base=base, metrics_url=f"http://127.0.0.1:{port}/metrics", log=log)


def samples(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples of one metric: labels -> value."""
    found = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and match["name"] == name:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
            found[labels] = float(match["value"])
    return found


def value(text: str, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for k, v in samples(text, name).items() if wanted <= k)


def sign_in_and_redeem(base: str) -> None:
    browser = Browser(base)
    try:
        run = AuthorizationRun("portal", "http://127.0.0.1:9/portal/cb", scope="openid profile")
        code = sign_in(browser, run, "canbo01", PASSWORD)["code"]
        token = httpx.post(base + "/token", auth=("portal", SECRET), timeout=30, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
            "code_verifier": run.verifier})
        assert token.status_code == 200, token.text
    finally:
        browser.close()


def test_metrics_move_after_a_sign_in(watched: Watched) -> None:
    before = httpx.get(watched.metrics_url, timeout=10)
    assert before.status_code == 200
    assert "text/plain" in before.headers["content-type"]
    assert httpx.get(watched.base + "/metrics", timeout=10).status_code == 404  # not on the public port

    for _ in range(2):  # two sign-ins: with two workers, each may answer one
        sign_in_and_redeem(watched.base)

    after = httpx.get(watched.metrics_url, timeout=10).text
    signins = dict(outcome="success", method="pwd", adapter="local", acr="local-basic")
    assert value(after, "idp_signins_total", **signins) - value(before.text, "idp_signins_total", **signins) == 2
    grant = {"grant": "authorization_code"}
    assert value(after, "idp_tokens_issued_total", **grant) - value(before.text, "idp_tokens_issued_total",
                                                                      **grant) == 2
    assert value(after, "idp_audit_commit_seconds_count") > value(before.text, "idp_audit_commit_seconds_count")
    assert "idp_db_connections_in_use" in after
    # No person in a label: neither the username nor the name of the account.
    assert "canbo01" not in after and "Bình" not in after


def test_log_lines_are_json_and_name_no_person(watched: Watched) -> None:
    sign_in_and_redeem(watched.base)
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in watched.log.read_text(encoding="utf-8").splitlines() if line.strip()]
        parsed = [json.loads(line) for line in lines]  # every line, granian's own included, is JSON
        signins = [p for p in parsed if p["event"] == "signin" and p.get("outcome") == "success"]
        if signins or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert signins, lines[-20:]
    line = signins[-1]
    assert set(line) >= {"time", "level", "logger", "request_id", "event"}
    assert line["level"] == "info" and line["logger"] == "idp.events"
    assert line["client_id"] == "portal" and line["adapter"] == "local" and line["acr"] == "local-basic"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]+", line["request_id"])
    assert any(p["logger"] == "_granian" for p in parsed)  # the server's own lines go the same way
    assert any(p["level"] == "warning" and "IDP_METRICS_PROT" in p["event"] for p in parsed)
    text = watched.log.read_text(encoding="utf-8")
    assert "canbo01" not in text and "Bình" not in text and PASSWORD not in text
