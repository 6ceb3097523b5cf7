"""The integration guide holds: its Python sample (docs/samples/python/signin.py, authlib) signs a
person in at a running ``idp serve`` with code + PKCE, and its scope table (English and Vietnamese)
is the one the code releases (policies/claims.py), so neither can drift."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from urllib.parse import urljoin

import pytest

from policies.claims import RESTRICTED_SCOPES, SCOPE_CLAIMS
from tests.functional.browser_client import Browser
from tests.functional.oidc_fixtures import PASSWORD, SECRET, Deployment

DOCS = Path(__file__).resolve().parents[2] / "docs"
ROW = re.compile(r"^\| `(?P<scope>[a-z_]+)` \|(?P<restricted>[^|]*)\|(?P<claims>[^|]*)\|", re.M)


def sample() -> ModuleType:
    spec = importlib.util.spec_from_file_location("signin_sample", DOCS / "samples" / "python" / "signin.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("deployment", ["embedded"], indirect=True)
def test_the_python_sample_signs_in(deployment: Deployment) -> None:
    redirect_uri = deployment.redirect_uri("portal")
    sign_in = sample().ProvincialSignIn(deployment.base, "portal", SECRET, redirect_uri)
    url, pending = sign_in.start(scope="openid profile email", ui_locales="vi")
    assert "code_challenge_method=S256" in url and "nonce=" in url
    browser = Browser(deployment.base)  # the person
    try:
        page = browser.follow(browser.http.get(url), stop_at=redirect_uri)
        answer = browser.follow(browser.submit(page, {"username": "canbo01", "password": PASSWORD}),
                                stop_at=redirect_uri)
        if answer.status_code == 200 and 'name="decision"' in answer.text:
            answer = browser.follow(browser.submit(answer, {"decision": "allow"}), stop_at=redirect_uri)
    finally:
        browser.close()
    callback = urljoin(str(answer.request.url), answer.headers["location"])
    try:
        claims = sign_in.finish(callback, pending)
        with pytest.raises(ValueError, match="state"):  # a callback not meant for this sign-in
            sign_in.finish(callback.replace("state=", "state=x"), pending)
    finally:
        sign_in.close()
    assert claims["iss"] == deployment.base and claims["aud"] == "portal"
    assert claims["name"] == "Trần Thị Bình" and claims["email"] == "binh@example.vn"


@pytest.mark.parametrize("guide", ["integration.md", "tich-hop.md"])
def test_the_scope_table_is_what_the_code_releases(guide: str) -> None:
    rows = {m["scope"]: m for m in ROW.finditer((DOCS / guide).read_text(encoding="utf-8"))}
    assert set(rows) == set(SCOPE_CLAIMS), "every scope, and only those, in the table"
    for scope, row in rows.items():
        user_claims = re.sub(r"\(.*?\)", "", row["claims"])  # in brackets: the protocol's, not the person's
        listed = set(re.findall(r"`([a-z_]+)`", user_claims))
        assert listed == set(SCOPE_CLAIMS[scope]), scope
        assert (row["restricted"].strip() != "") == (scope in RESTRICTED_SCOPES), scope
