"""The ``prompt`` values (OIDC Core §3.1.2.1) in headless Chromium, asked for by a relying party
nobody here wrote: node's ``openid-client`` (tests/interop/rp) builds the authorization URL,
validates the callback and redeems the code; one browser profile walks the provider's pages.

Each value must be answered once per authorization request and then continue: ``consent`` shows
the consent page once (OIDC Core §11 tells a relying party asking for ``offline_access`` to send
it, so without this no such relying party ever gets a refresh token), ``login`` and ``max_age=0``
ask for the password once, ``select_account`` lets the person sign in with the account they
choose, once; ``none`` shows no page at all. Discovery advertises only values that work that way.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.relying_party import LoopbackRelyingParty
from tests.functional.helpers import call_idp, running_server
from tests.interop.rp.driver import NodeRelyingParty, node_with_packages

USERNAME, PASSWORD = "canbo01", "một câu mật khẩu dài đủ dùng"
OTHER_USERNAME, OTHER_PASSWORD = "canbo02", "một câu mật khẩu khác cũng đủ dài"
SECRET = "s3cret-of-the-relying-party-portal-0123456789"
CLIENT = "portal"
MAX_PAGES = 6  # a flow that needs more pages than this is going round in circles
LOGIN_PAGE = re.compile(r"/interaction/[^/?#]+/login(?:[?#]|$)")
CONSENT_PAGE = re.compile(r"/interaction/[^/?#]+/consent(?:[?#]|$)")


@dataclass(frozen=True)
class Provider:
    base: str
    redirect_uri: str


@pytest.fixture(scope="module")
def loopback_rp() -> Iterator[LoopbackRelyingParty]:
    """The relying party's callback page (started first: the client registers its URL)."""
    rp = LoopbackRelyingParty()
    rp.start()
    yield rp
    rp.stop()


@pytest.fixture(scope="module", params=["embedded", "postgres+redis"])
def provider(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             loopback_rp: LoopbackRelyingParty) -> Iterator[Provider]:
    """``idp serve`` with the confidential client ``portal`` (not first-party: it gets the
    consent page) and two local accounts, set up with the ``idp`` command."""
    env = {"IDP_DATA_DIR": str(Path(tmp_path_factory.mktemp("prompt")) / "var"), "IDP_LOGIN_BACKOFF_SECONDS": "0"}
    if request.param == "postgres+redis":
        from tests.conftest import postgres_redis_env

        env |= postgres_redis_env(request)
    setup = env | {"IDP_AUTO_MIGRATE": "true"}
    redirect_uri = loopback_rp.redirect_uri(CLIENT)
    added = call_idp(["clients", "add", CLIENT, "--secret-stdin", "--name", "Cổng dịch vụ công",
                     "--redirect-uri", redirect_uri], setup, stdin=SECRET + "\n")
    assert added.returncode == 0, added.stderr
    people = ((USERNAME, PASSWORD, "Trần Thị Bình"), (OTHER_USERNAME, OTHER_PASSWORD, "Lê Văn Cường"))
    for username, password, name in people:
        user = call_idp(["users", "add", username, "--password-stdin", "--name", name], setup, stdin=password + "\n")
        assert user.returncode == 0, user.stderr
    with running_server(env) as base:
        yield Provider(base=base, redirect_uri=redirect_uri)


@pytest.fixture
def openid_client(provider: Provider) -> Iterator[NodeRelyingParty]:
    """openid-client configured for ``portal`` by discovery (client_secret_basic)."""
    with NodeRelyingParty(node_with_packages()) as rp:
        rp.call("discover", issuer=provider.base, client_id=CLIENT,
                auth={"method": "client_secret_basic", "secret": SECRET})
        yield rp


@dataclass
class Walk:
    """What the person saw between the relying party's link and its callback page."""

    password_forms: int = 0
    consent_pages: int = 0
    pages: list[str] = field(default_factory=list)
    callback: str = ""


def walk(page: Any, url: str, redirect_uri: str, *, username: str = USERNAME, password: str = PASSWORD) -> Walk:
    """Open ``url`` and do what each page asks, as a person would: type the password on a sign-in
    page, press "Đồng ý" (Allow) on a consent page; stop back at the relying party's
    ``redirect_uri``. Fails if the provider keeps showing pages (a prompt that is never satisfied)."""
    seen = Walk()
    page.goto(url)
    while not page.url.startswith(redirect_uri + "?"):
        seen.pages.append(page.url)
        assert len(seen.pages) <= MAX_PAGES, (
            f"never back at the relying party: {seen.password_forms} sign-in and {seen.consent_pages} consent "
            f"pages so far, last {page.url}: {page.locator('main').inner_text()[:300]!r}")
        if LOGIN_PAGE.search(page.url) and page.locator("input[type=password]").count():
            seen.password_forms += 1
            page.get_by_label("Tên đăng nhập").fill(username)
            page.get_by_label("Mật khẩu").fill(password)
            button = page.get_by_role("button", name="Đăng nhập", exact=True)
        elif CONSENT_PAGE.search(page.url):
            seen.consent_pages += 1
            button = page.get_by_role("button", name="Đồng ý")
        else:
            raise AssertionError(f"unexpected page {page.url}: {page.locator('body').inner_text()[:300]!r}")
        with page.expect_navigation():
            button.click()
    seen.callback = page.url
    return seen


def authorize(rp: NodeRelyingParty, provider: Provider, scope: str, **params: str) -> dict[str, Any]:
    return rp.call("authorize", redirect_uri=provider.redirect_uri, scope=scope, params=params)


def test_discovery_advertises_only_the_prompt_values_that_work(provider: Provider) -> None:
    # Each one is walked through below (none: no page at all, or an error to the relying party).
    metadata = httpx.get(provider.base + "/.well-known/openid-configuration", timeout=10).json()
    assert sorted(metadata["prompt_values_supported"]) == ["consent", "login", "none", "select_account"]


def test_prompt_none_answers_without_a_page(provider: Provider, openid_client: NodeRelyingParty, page: Any) -> None:
    refused = authorize(openid_client, provider, "openid profile", prompt="none")
    seen = walk(page, refused["url"], provider.redirect_uri)  # nobody signed in yet: straight back
    assert seen.pages == [] and "error=login_required" in seen.callback

    first = authorize(openid_client, provider, "openid profile")
    seen = walk(page, first["url"], provider.redirect_uri)
    assert (seen.password_forms, seen.consent_pages) == (1, 1)
    signed_in = openid_client.call("callback", state=first["state"], url=seen.callback)["claims"]

    request = authorize(openid_client, provider, "openid profile", prompt="none")
    seen = walk(page, request["url"], provider.redirect_uri)  # signed in and consented: a code, no page
    assert seen.pages == []
    tokens = openid_client.call("callback", state=request["state"], url=seen.callback)
    assert tokens["claims"]["sub"] == signed_in["sub"]


def test_prompt_consent_with_offline_access_shows_consent_once_and_gives_a_refresh_token(
        provider: Provider, openid_client: NodeRelyingParty, page: Any) -> None:
    # OIDC Core §11: a relying party asking for offline_access sends prompt=consent.
    request = authorize(openid_client, provider, "openid profile offline_access", prompt="consent")
    seen = walk(page, request["url"], provider.redirect_uri)
    assert (seen.password_forms, seen.consent_pages) == (1, 1), seen.pages

    tokens = openid_client.call("callback", state=request["state"], url=seen.callback)
    assert set(tokens["scope"].split()) == {"openid", "profile", "offline_access"}
    assert tokens["refresh_token"] and tokens["claims"]["aud"] == CLIENT
    refreshed = openid_client.call("refresh")
    assert refreshed["refresh_token"] and refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["claims"]["sub"] == tokens["claims"]["sub"]
    assert openid_client.call("userinfo")["userinfo"]["name"] == "Trần Thị Bình"

    # The next request with prompt=consent, same browser: no password (single sign-on), and the
    # consent page once more, because the relying party asked for it again; then a code.
    again = authorize(openid_client, provider, "openid offline_access", prompt="consent")
    seen = walk(page, again["url"], provider.redirect_uri)
    assert (seen.password_forms, seen.consent_pages) == (0, 1), seen.pages
    tokens = openid_client.call("callback", state=again["state"], url=seen.callback)
    assert tokens["refresh_token"] and openid_client.call("refresh")["refresh_token"]


@pytest.mark.parametrize("params", [{"prompt": "login"}, {"max_age": "0"}, {"prompt": "login consent"}],
                         ids=["prompt=login", "max_age=0", "prompt=login+consent"])
def test_reauthentication_asks_for_the_password_exactly_once(provider: Provider, openid_client: NodeRelyingParty,
                                                             page: Any, params: dict[str, str]) -> None:
    first = authorize(openid_client, provider, "openid profile")
    seen = walk(page, first["url"], provider.redirect_uri)
    assert seen.password_forms == 1
    signed_in = openid_client.call("callback", state=first["state"], url=seen.callback)["claims"]

    time.sleep(1.1)  # auth_time has whole seconds: the new sign-in must be visibly newer
    started = int(time.time())
    request = authorize(openid_client, provider, "openid profile", **params)
    seen = walk(page, request["url"], provider.redirect_uri)
    asked_consent = "consent" in params.get("prompt", "").split()
    assert (seen.password_forms, seen.consent_pages) == (1, 1 if asked_consent else 0), seen.pages
    # openid-client checked auth_time against max_age; the ID token says the sign-in is the new one.
    claims = openid_client.call("callback", state=request["state"], url=seen.callback)["claims"]
    assert claims["auth_time"] >= started > signed_in["auth_time"]
    assert claims["sub"] == signed_in["sub"]


def test_select_account_lets_the_person_sign_in_with_another_account_once(
        provider: Provider, openid_client: NodeRelyingParty, page: Any) -> None:
    first = authorize(openid_client, provider, "openid profile")
    seen = walk(page, first["url"], provider.redirect_uri)
    before = openid_client.call("callback", state=first["state"], url=seen.callback)["claims"]

    # One person is signed in per browser, so the account is chosen by signing in with it: never
    # answered silently with the account already signed in; the sign-in page once, then a code.
    request = authorize(openid_client, provider, "openid profile", prompt="select_account")
    seen = walk(page, request["url"], provider.redirect_uri, username=OTHER_USERNAME, password=OTHER_PASSWORD)
    assert seen.password_forms == 1, seen.pages
    tokens = openid_client.call("callback", state=request["state"], url=seen.callback)
    assert tokens["claims"]["sub"] != before["sub"]
    assert openid_client.call("userinfo")["userinfo"]["name"] == "Lê Văn Cường"
