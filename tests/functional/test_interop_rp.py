"""Interop with a relying party nobody here wrote: node's ``openid-client`` (panva, pinned in
tests/interop/rp/package-lock.json) against a running ``idp serve`` on both backends, over HTTP only.

openid-client does discovery, builds the PKCE authorization URL (pushed with PAR when asked),
authenticates (client_secret_basic, none, private_key_jwt), binds tokens with DPoP, validates the
authorization response (state, RFC 9207 ``iss``) and the ID token (signature against the JWKS,
``iss``, ``aud``, ``exp``, ``nonce``), calls userinfo (``sub`` must match) and refreshes; its
loopback receiver verifies back-channel logout tokens with ``jose``. The scripted person signs in.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from jose import jwt as jose_jwt
from joserfc.jwk import ECKey

from tests.functional.browser_client import Browser
from tests.functional.helpers import call_idp, running_server
from tests.functional.oidc_fixtures import PASSWORD, SECRET, Deployment
from tests.interop.rp.driver import (
    NodeRelyingParty,
    RelyingPartyError,
    front_channel,
    node_with_packages,
    offline_access_prompt,
)

USER = "canbo01"
SCOPES = ("openid", "profile", "email", "offline_access")


def _backend_env(backend: str, data: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    env = {"IDP_DATA_DIR": str(data), "IDP_AUTO_MIGRATE": "true", "IDP_ALLOW_LOOPBACK_CLIENT_URLS": "true",
           "IDP_BACKCHANNEL_LOGOUT_BACKOFF_SECONDS": "0.2"}
    if backend == "embedded":
        return env
    from tests.conftest import postgres_redis_env

    return env | postgres_redis_env(request)


@pytest.fixture(scope="module", params=["embedded", "postgres+redis"])
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A running provider (loopback client URLs allowed, for the back-channel receiver) with the
    relying parties ``portal`` (client_secret_basic) and ``spa`` (public) and the account canbo01,
    set up with the ``idp`` command."""
    env = _backend_env(request.param, Path(tmp_path_factory.mktemp("idp")) / "var", request)
    portal = call_idp(["clients", "add", "portal", "--secret-stdin", "--name", "Cổng dịch vụ công",
                      "--redirect-uri", "http://127.0.0.1:9/portal/cb",
                      "--post-logout-redirect-uri", "http://127.0.0.1:9/portal/bye"], env, stdin=SECRET + "\n")
    assert portal.returncode == 0, portal.stderr
    spa = call_idp(["clients", "add", "spa", "--public", "--redirect-uri", "http://127.0.0.1:9/spa/cb"], env)
    assert spa.returncode == 0, spa.stderr
    user = call_idp(["users", "add", USER, "--password-stdin", "--name", "Trần Thị Bình", "--email", "binh@example.vn"],
                   env, stdin=PASSWORD + "\n")
    assert user.returncode == 0, user.stderr
    with running_server(env) as base:
        yield Deployment(base=base, env=env)


@pytest.fixture(scope="module")
def node() -> str:
    return node_with_packages()


@pytest.fixture
def browser(deployment: Deployment) -> Iterator[Browser]:
    b = Browser(deployment.base)
    yield b
    b.close()


def relying_party(node: str, dep: Deployment, client_id: str, auth: dict, *, dpop: bool = False) -> NodeRelyingParty:
    rp = NodeRelyingParty(node)
    try:
        discovered = rp.call("discover", issuer=dep.base, client_id=client_id, auth=auth, dpop=dpop)
    except BaseException:
        rp.close()
        raise
    assert discovered["server"]["issuer"] == dep.base
    return rp


@pytest.fixture
def portal(node: str, deployment: Deployment) -> Iterator[NodeRelyingParty]:
    with relying_party(node, deployment, "portal", {"method": "client_secret_basic", "secret": SECRET}) as rp:
        yield rp


@pytest.fixture
def spa(node: str, deployment: Deployment) -> Iterator[NodeRelyingParty]:
    with relying_party(node, deployment, "spa", {"method": "none"}) as rp:
        yield rp


def sign_in(rp: NodeRelyingParty, browser: Browser, dep: Deployment, client_id: str, scope: str, *,
            par: bool = False, **params: str) -> dict:
    """The whole code flow: openid-client's URL, the person's sign-in, openid-client's code exchange.
    A request for ``offline_access`` carries ``prompt=consent`` (OIDC Core §11): the person sees
    the consent page, presses Allow once, and the flow goes on."""
    redirect_uri = dep.redirect_uri(client_id)
    prompt = offline_access_prompt(scope, params.pop("prompt", None))
    if prompt:
        params["prompt"] = prompt
    request = rp.call("authorize", redirect_uri=redirect_uri, scope=scope, par=par, params=params)
    query = parse_qs(urlsplit(request["url"]).query)
    assert query["client_id"] == [client_id]
    if par:  # only client_id and the pushed request's handle travel through the browser
        assert set(query) == {"client_id", "request_uri"}
    else:
        assert query["code_challenge_method"] == ["S256"]
    callback = front_channel(browser, request["url"], redirect_uri, USER, PASSWORD)
    return rp.call("callback", state=request["state"], **callback.as_args())


def test_confidential_client_code_flow_userinfo_and_refresh(deployment: Deployment, portal: NodeRelyingParty,
                                                            browser: Browser) -> None:
    tokens = sign_in(portal, browser, deployment, "portal", "openid profile email offline_access")
    claims = tokens["claims"]
    assert claims["iss"] == deployment.base and claims["aud"] == "portal"
    assert claims["sid"] and claims["acr"].endswith("/acr/local-basic") and claims["amr"] == ["pwd"]
    assert tokens["id_token_header"]["alg"] == "ES256" and tokens["id_token_header"]["kid"]
    assert tokens["token_type"] == "bearer" and 0 < tokens["expires_in"] <= 3600
    assert set(tokens["scope"].split()) == {"openid", "profile", "email", "offline_access"}

    info = portal.call("userinfo")["userinfo"]
    assert info == {"sub": claims["sub"], "name": "Trần Thị Bình", "email": "binh@example.vn"}

    first = tokens["refresh_token"]
    refreshed = portal.call("refresh")
    assert refreshed["refresh_token"] and refreshed["refresh_token"] != first
    assert refreshed["access_token"] != tokens["access_token"]
    # A new ID token on refresh keeps the subject, session and auth_time (OIDC Core §12.2).
    for name in ("sub", "aud", "sid", "auth_time", "acr"):
        assert refreshed["claims"][name] == claims[name], name
    assert portal.call("userinfo")["userinfo"]["sub"] == claims["sub"]

    # The rotated-out refresh token replayed: refused, and the whole grant with it.
    with pytest.raises(RelyingPartyError) as replay:
        portal.call("refresh", refresh_token=first)
    assert replay.value.oauth_error == "invalid_grant" and replay.value.error["status"] == 400
    with pytest.raises(RelyingPartyError) as after:
        portal.call("refresh", refresh_token=refreshed["refresh_token"])
    assert after.value.oauth_error == "invalid_grant"
    with pytest.raises(RelyingPartyError) as userinfo:
        portal.call("userinfo", access_token=refreshed["access_token"])
    assert userinfo.value.error["status"] == 401


def test_wrong_client_secret_is_refused_with_a_challenge(node: str, deployment: Deployment) -> None:
    wrong = {"method": "client_secret_basic", "secret": "x" * 40}
    with relying_party(node, deployment, "portal", wrong) as rp, pytest.raises(RelyingPartyError) as refused:
        rp.call("refresh", refresh_token="not-a-refresh-token")
    # RFC 6749 §5.2: 401 with a WWW-Authenticate challenge in the scheme the client used.
    assert refused.value.error["status"] == 401 and refused.value.oauth_error == "invalid_client"
    assert refused.value.error["challenges"][0]["scheme"] == "basic"


def test_independent_verifiers_agree_on_the_id_token(deployment: Deployment, portal: NodeRelyingParty,
                                                     browser: Browser) -> None:
    tokens = sign_in(portal, browser, deployment, "portal", "openid profile")
    jwks = httpx.get(deployment.base + "/jwks").json()
    verified = jose_jwt.decode(tokens["id_token"], jwks, algorithms=["ES256"], audience="portal",
                               issuer=deployment.base, access_token=tokens["access_token"])
    assert verified == tokens["claims"]


def test_public_client_sub_is_stable_and_pairwise(deployment: Deployment, spa: NodeRelyingParty,
                                                  portal: NodeRelyingParty, browser: Browser) -> None:
    first = sign_in(spa, browser, deployment, "spa", "openid profile")
    assert first["claims"]["aud"] == "spa" and first["token_type"] == "bearer"
    assert spa.call("userinfo")["userinfo"] == {"sub": first["claims"]["sub"], "name": "Trần Thị Bình"}
    again = sign_in(spa, browser, deployment, "spa", "openid profile")  # single sign-on: no typing
    assert again["claims"]["sub"] == first["claims"]["sub"] and again["claims"]["sid"] == first["claims"]["sid"]
    other = sign_in(portal, browser, deployment, "portal", "openid")
    assert other["claims"]["sub"] != first["claims"]["sub"]  # pairwise per relying party


def test_public_client_refresh_rotates(deployment: Deployment, spa: NodeRelyingParty, browser: Browser) -> None:
    tokens = sign_in(spa, browser, deployment, "spa", "openid offline_access")
    assert tokens["refresh_token"], "a public client asking for offline_access gets a refresh token"
    refreshed = spa.call("refresh")
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    with pytest.raises(RelyingPartyError) as replay:
        spa.call("refresh", refresh_token=tokens["refresh_token"])
    assert replay.value.oauth_error == "invalid_grant"


def test_form_post_response_mode(deployment: Deployment, portal: NodeRelyingParty, browser: Browser) -> None:
    redirect_uri = deployment.redirect_uri("portal")
    request = portal.call("authorize", redirect_uri=redirect_uri, scope="openid",
                          params={"response_mode": "form_post"})
    callback = front_channel(browser, request["url"], redirect_uri, USER, PASSWORD)
    assert callback.form is not None and callback.form["iss"] == deployment.base
    tokens = portal.call("callback", state=request["state"], **callback.as_args())
    assert tokens["claims"]["aud"] == "portal"


def test_rp_initiated_logout_ends_the_session(deployment: Deployment, portal: NodeRelyingParty,
                                              browser: Browser) -> None:
    tokens = sign_in(portal, browser, deployment, "portal", "openid")
    bye = "http://127.0.0.1:9/portal/bye"
    logout = portal.call("end_session_url", post_logout_redirect_uri=bye, state="tam-biet")["url"]
    response = browser.follow(browser.http.get(logout), stop_at=bye)
    assert response.status_code == 303 and response.headers["location"] == bye + "?state=tam-biet"
    with pytest.raises(RelyingPartyError) as refresh:
        portal.call("userinfo", access_token=tokens["access_token"])
    assert refresh.value.error["status"] == 401

    # No session any more: prompt=none comes back to the client as login_required, which
    # openid-client reports as the authorization response's error.
    redirect_uri = deployment.redirect_uri("portal")
    request = portal.call("authorize", redirect_uri=redirect_uri, scope="openid", params={"prompt": "none"})
    callback = front_channel(browser, request["url"], redirect_uri)
    with pytest.raises(RelyingPartyError) as refused:
        portal.call("callback", state=request["state"], **callback.as_args())
    assert refused.value.oauth_error == "login_required"


# -- The strict relying-party profile (issue 9): PAR + private_key_jwt + DPoP + refresh, back-channel logout.

def client_key() -> dict[str, Any]:
    """A fresh ES256 private JWK for the relying party's client assertions."""
    key = ECKey.generate_key("P-256", parameters={"kid": secrets.token_hex(4), "alg": "ES256", "use": "sig"},
                             private=True)
    return key.as_dict(private=True)


def register_strict_client(dep: Deployment, client_id: str, jwk: dict[str, Any], **extra: Any) -> None:
    """Register a strict-profile client with its public key (the ``idp clients`` command has no
    JWKS option, so through the same service it calls)."""
    from idp.clients.service import register_client
    from idp.runtime import open_storage
    from idp.settings import Settings

    public = {k: v for k, v in jwk.items() if k != "d"}
    settings = Settings(**{name[4:].lower(): value for name, value in dep.env.items()})  # type: ignore[arg-type]
    storage = open_storage(settings, migrate=False)
    try:
        register_client(storage, client_id, redirect_uris=[dep.redirect_uri(client_id)],
                        post_logout_redirect_uris=[f"http://127.0.0.1:9/{client_id}/bye"],
                        auth_method="private_key_jwt", scopes=SCOPES, name=f"Dịch vụ {client_id}",
                        extra={"jwks": {"keys": [public]}, "strict_profile": True, **extra})
    finally:
        storage.close()


def strict_relying_party(node: str, dep: Deployment, client_id: str
                         ) -> tuple[NodeRelyingParty, dict[str, Any], dict[str, Any]]:
    """openid-client with a private_key_jwt key and a DPoP key pair: (runner, private JWK, discovery result)."""
    jwk = client_key()
    rp = NodeRelyingParty(node)
    try:
        discovered = rp.call("discover", issuer=dep.base, client_id=client_id,
                             auth={"method": "private_key_jwt", "jwk": jwk}, dpop=True)
    except BaseException:
        rp.close()
        raise
    return rp, jwk, discovered


def access_token_claims(dep: Deployment, token: str) -> dict[str, Any]:
    jwks = httpx.get(dep.base + "/jwks").json()
    return jose_jwt.decode(token, jwks, algorithms=["ES256", "PS256"], issuer=dep.base,
                           options={"verify_aud": False})


def test_strict_profile_par_private_key_jwt_dpop_refresh(deployment: Deployment, node: str,
                                                         browser: Browser) -> None:
    client_id = "strict-" + secrets.token_hex(3)
    rp, jwk, discovered = strict_relying_party(node, deployment, client_id)
    with rp:
        register_strict_client(deployment, client_id, jwk)
        server = discovered["server"]
        assert server["pushed_authorization_request_endpoint"] == deployment.base + "/par"
        assert "private_key_jwt" in server["token_endpoint_auth_methods_supported"]
        assert "ES256" in server["dpop_signing_alg_values_supported"]
        jkt = discovered["dpop_jkt"]

        tokens = sign_in(rp, browser, deployment, client_id, "openid profile offline_access", par=True)
        assert tokens["token_type"] == "dpop" and tokens["claims"]["aud"] == client_id
        assert access_token_claims(deployment, tokens["access_token"])["cnf"] == {"jkt": jkt}
        info = rp.call("userinfo")["userinfo"]
        assert info == {"sub": tokens["claims"]["sub"], "name": "Trần Thị Bình"}
        with pytest.raises(RelyingPartyError) as as_bearer:  # a DPoP-bound token without its proof
            rp.call("userinfo", bearer=True)
        assert as_bearer.value.error["status"] == 401

        refreshed = rp.call("refresh")
        assert refreshed["token_type"] == "dpop" and refreshed["refresh_token"] != tokens["refresh_token"]
        assert access_token_claims(deployment, refreshed["access_token"])["cnf"] == {"jkt": jkt}
        assert refreshed["claims"]["sub"] == tokens["claims"]["sub"]
        assert rp.call("userinfo")["userinfo"]["sub"] == tokens["claims"]["sub"]

        # The strict profile refuses a front-channel request that was not pushed: an error back
        # to the relying party (with state and iss, which openid-client checks), never a code.
        redirect_uri = deployment.redirect_uri(client_id)
        unpushed = rp.call("authorize", redirect_uri=redirect_uri, scope="openid")
        callback = front_channel(browser, unpushed["url"], redirect_uri)
        with pytest.raises(RelyingPartyError) as refused:
            rp.call("callback", state=unpushed["state"], **callback.as_args())
        assert refused.value.oauth_error == "invalid_request"


def test_backchannel_logout_token_verified_by_the_relying_party(deployment: Deployment, node: str,
                                                                browser: Browser) -> None:
    client_id = "strict-" + secrets.token_hex(3)
    rp, jwk, _ = strict_relying_party(node, deployment, client_id)
    with rp:
        receiver = rp.call("backchannel_listen")["uri"]
        register_strict_client(deployment, client_id, jwk, backchannel_logout_uri=receiver,
                               backchannel_logout_session_required=True)
        tokens = sign_in(rp, browser, deployment, client_id, "openid offline_access", par=True)

        bye = f"http://127.0.0.1:9/{client_id}/bye"
        logout = rp.call("end_session_url", post_logout_redirect_uri=bye, state="tam-biet")["url"]
        response = browser.follow(browser.http.get(logout), stop_at=bye)
        assert response.status_code == 303 and response.headers["location"] == bye + "?state=tam-biet"

        deliveries = rp.call("backchannel_wait", count=1, timeout_ms=15000, timeout=20)["deliveries"]
        assert len(deliveries) == 1 and deliveries[0]["valid"], deliveries
        claims, header = deliveries[0]["claims"], deliveries[0]["header"]
        assert header["typ"] == "logout+jwt" and header["alg"] == tokens["id_token_header"]["alg"]
        assert claims["aud"] == client_id and claims["iss"] == deployment.base
        assert claims["sid"] == tokens["claims"]["sid"] and claims["sub"] == tokens["claims"]["sub"]
        with pytest.raises(RelyingPartyError) as refresh:  # the session's grants went with it
            rp.call("refresh")
        assert refresh.value.oauth_error == "invalid_grant"
