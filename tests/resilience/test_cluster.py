"""The local cluster itself: TLS from the proxy with the test CA, and round-robin, so the
consecutive requests of one sign-in land on different replicas and it still succeeds."""

from __future__ import annotations

import httpx
import pytest

from tests.functional.browser_client import AuthorizationRun, Browser, sign_in
from tests.resilience.cluster import Cluster


def test_proxy_speaks_tls_with_the_test_ca_only(cluster: Cluster) -> None:
    with cluster.client() as http:
        discovery = http.get("/.well-known/openid-configuration").json()
    assert discovery["issuer"] == cluster.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(cluster.url + "/healthz", timeout=5)  # the system's CAs do not know the test CA


def test_one_sign_in_crosses_replicas(cluster: Cluster) -> None:
    browser = Browser(cluster.url, verify=cluster.tls)
    landed: list[str] = []
    browser.http.event_hooks["response"].append(lambda r: landed.append(r.headers.get("x-replica", "")))
    run = AuthorizationRun("portal", cluster.REDIRECT_URI)
    code = sign_in(browser, run, "canbo01", cluster.PASSWORD)["code"]
    tokens = browser.http.post("/token", data={"grant_type": "authorization_code", "code": code,
                                               "redirect_uri": run.redirect_uri, "code_verifier": run.verifier},
                               auth=("portal", cluster.PORTAL_SECRET))
    browser.close()
    assert tokens.status_code == 200, tokens.text
    assert len(landed) >= 4 and all(landed)
    assert all(a != b for a, b in zip(landed, landed[1:], strict=False)), landed
    assert set(landed) == {replica.name for replica in cluster.replicas}
