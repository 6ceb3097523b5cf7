"""Each check of an authorization request (idp.specs.authorization_checks) on its own, and the chain
that runs them: what it refuses and with which error, what it establishes, and where a failure is
answered (a page before the redirect URI is verified, the client's redirect URI after). PAR
resolution runs on the real in-process short-lived store."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from idp.errors import OAuthError, PageError
from idp.settings import Settings
from idp.specs.authorization_checks import (
    claims,
    client,
    par,
    parameters,
    pkce,
    prompt,
    redirect_uri,
    request_object,
    response_type,
    scope,
)
from idp.specs.authorization_checks.chain import AUTHORIZE, PUSHED, check_authorization, check_pushed
from idp.specs.authorization_checks.checking import Checking
from idp.specs.authorization_request import AuthorizationRequest, RedirectableError
from idp.storage.ephemeral.memory import MemoryStore
from idp.storage.models import Client

REDIRECT = "https://dichvu.example.vn/cb"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
PORTAL = Client(client_id="portal", name="Cổng", auth_method="client_secret_basic", redirect_uris=(REDIRECT,),
                scopes=("openid", "profile"))
PUSHER = PORTAL.replace(client_id="pusher", extra={"require_pushed_authorization_requests": True})
#: Allowed a restricted scope but stored before the strict profile's rule (a secret, no PAR flag).
LEGACY = PORTAL.replace(client_id="hoso", scopes=("openid", "vn_id"))


class Context:
    """What the checks need of the provider: settings, clients, the short-lived store, scopes."""

    def __init__(self, tmp_path: Path) -> None:
        self.issuer = "https://idp.example.vn"
        self.settings = Settings(data_dir=tmp_path / "var")
        self.ephemeral = MemoryStore()
        self.scopes_supported = ("openid", "profile", "email", "vn_id")
        self.client_keys: Any = None
        self.server: Any = None
        self.events: list[tuple[str, dict[str, Any]]] = []

    def find_client(self, client_id: str | None) -> Client | None:
        return {c.client_id: c for c in (PORTAL, PUSHER)}.get(client_id or "")

    def record(self, event_type: str, *, context: Any = None, **fields: Any) -> None:
        self.events.append((event_type, fields))


@pytest.fixture
def context(tmp_path: Path) -> Context:
    return Context(tmp_path)


def params(**values: str | list[str]) -> dict[str, list[str]]:
    base: dict[str, str | list[str]] = {
        "client_id": "portal", "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid profile",
        "state": "st-1", "code_challenge": CHALLENGE, "code_challenge_method": "S256"}
    base.update(values)
    return {k: v if isinstance(v, list) else [v] for k, v in base.items() if v != []}


def checking(context: Context, found: Client | None = PORTAL, **values: str | list[str]) -> Checking:
    """A request as the checks after :mod:`client` and :mod:`redirect_uri` see it."""
    checked = Checking(params(**values), context, context.find_client)
    checked.client, checked.redirect_uri, checked.redirect_verified = found, REDIRECT, True
    parameters.check(checked)
    return checked


def refused(check: Any, checked: Checking) -> tuple[str, str | None]:
    with pytest.raises(OAuthError) as error:
        check(checked)
    return error.value.error, error.value.description


# -- request_object: a pushed request (PAR) replaces the parameters, once

def push(context: Context, **values: str) -> str:
    request_id = secrets.token_urlsafe(32)
    context.ephemeral.upsert(request_object.KIND, request_id, {
        "client_id": "portal", "params": params(**values), "redirect_uri": REDIRECT, "state": "pushed-state",
        "response_mode": "query"}, 60)
    return request_object.URN_PREFIX + request_id


def test_a_pushed_request_replaces_the_parameters_once(context: Context) -> None:
    uri = push(context, scope="openid")
    first = Checking({"client_id": ["portal"], "request_uri": [uri], "scope": ["profile"]}, context,
                     context.find_client)
    request_object.resolve(first)
    assert first.pushed and first.params["scope"] == ["openid"]
    again = Checking({"client_id": ["portal"], "request_uri": [uri]}, context, context.find_client)
    with pytest.raises(RedirectableError) as reused:
        request_object.resolve(again)
    assert (reused.value.error, reused.value.state) == ("invalid_request_uri", "pushed-state")
    assert [event for event, _ in context.events] == ["par.reused"]


@pytest.mark.parametrize(("request_uri", "client_id"), [
    (request_object.URN_PREFIX + "unknown", "portal"), (request_object.URN_PREFIX + "x" * 65, "portal"),
    (None, "pusher")])
def test_an_unknown_pushed_request_or_another_clients_is_a_page(context: Context, request_uri: str | None,
                                                                  client_id: str) -> None:
    checked = Checking({"client_id": [client_id], "request_uri": [request_uri or push(context)]}, context,
                       context.find_client)
    with pytest.raises(PageError) as page:
        request_object.resolve(checked)
    assert page.value.message_id == "invalid_request"


def test_a_request_without_request_uri_or_object_keeps_its_parameters(context: Context) -> None:
    checked = Checking(params(), context, context.find_client)
    request_object.resolve(checked)
    assert checked.params == params() and not checked.pushed


# -- client and redirect_uri: pages, never a redirect

@pytest.mark.parametrize(("values", "message"), [
    ({"client_id": []}, "invalid_request"), ({"client_id": "nobody"}, "unknown_client"),
    ({"client_id": ["portal", "portal"]}, "invalid_request"),
    ({"redirect_uri": [REDIRECT, REDIRECT]}, "invalid_request")])
def test_the_client_is_named_once_and_known(context: Context, values: dict[str, Any], message: str) -> None:
    checked = Checking(params(**values), context, context.find_client)
    with pytest.raises(PageError) as page:
        client.check(checked)
    assert page.value.message_id == message


def test_the_client_check_keeps_what_the_answer_needs(context: Context) -> None:
    checked = Checking(params(response_mode="fragment"), context, context.find_client)
    client.check(checked)
    assert (checked.client, checked.state, checked.response_mode) == (PORTAL, "st-1", "query")


@pytest.mark.parametrize("uri", [None, REDIRECT + "/", REDIRECT.upper(), REDIRECT + "?x=1", "https://evil.example/cb"])
def test_the_redirect_uri_is_an_exact_registered_one(context: Context, uri: str | None) -> None:
    checked = Checking({}, context, context.find_client)
    checked.client, checked.redirect_uri = PORTAL, uri
    with pytest.raises(PageError) as page:
        redirect_uri.check(checked)
    assert page.value.message_id == "redirect_uri_mismatch" and not checked.redirect_verified
    checked.redirect_uri = REDIRECT
    redirect_uri.check(checked)
    assert checked.redirect_verified


# -- the rest: errors for the client

def test_a_client_that_must_push_is_refused_a_plain_request(context: Context) -> None:
    assert refused(par.check, checking(context, PUSHER))[0] == "invalid_request"
    pushed = checking(context, PUSHER)
    pushed.pushed = True
    par.check(pushed)
    par.check(checking(context))  # the portal need not push


@pytest.mark.parametrize(("values", "error"), [
    ({"scope": ["openid", "openid"]}, "invalid_request"), ({"state": "x" * 4097}, "invalid_request"),
    ({"request": "eyJ..."}, "request_not_supported"),
    ({"request_uri": "https://rp.example/r"}, "request_uri_not_supported")])
def test_parameters_are_single_bounded_and_no_request_object(context: Context, values: dict[str, Any],
                                                           error: str) -> None:
    checked = Checking(params(**values), context, context.find_client)
    assert refused(parameters.check, checked)[0] == error


@pytest.mark.parametrize(("values", "found", "error"), [
    ({"response_type": []}, PORTAL, "invalid_request"),
    ({"response_type": "token"}, PORTAL, "unsupported_response_type"),
    ({}, PORTAL.replace(grant_types=("client_credentials",)), "unauthorized_client"),
    ({"response_mode": "fragment"}, PORTAL, "invalid_request")])
def test_response_type_is_code_for_a_client_of_the_code_grant(context: Context, values: dict[str, Any],
                                                              found: Client, error: str) -> None:
    assert refused(response_type.check, checking(context, found, **values))[0] == error


@pytest.mark.parametrize(("scopes", "found"), [
    ("", PORTAL), ("openid address", PORTAL), ("openid email", PORTAL), ("openid vn_id", LEGACY)])
def test_scopes_are_known_registered_and_restricted_ones_strict(context: Context, scopes: str, found: Client) -> None:
    error, description = refused(scope.check, checking(context, found, scope=scopes))
    assert error == "invalid_scope"
    if "vn_id" in scopes:
        assert description is not None and "strict profile" in description


def test_scopes_are_kept_once_in_order(context: Context) -> None:
    checked = checking(context, scope="profile openid profile")
    scope.check(checked)
    assert checked.fields["scopes"] == ("profile", "openid")


@pytest.mark.parametrize("values", [
    {"code_challenge": []}, {"code_challenge_method": []}, {"code_challenge_method": "plain"},
    {"code_challenge": CHALLENGE[:42]}, {"code_challenge": CHALLENGE[:-1] + "="}])
def test_pkce_needs_an_s256_challenge(context: Context, values: dict[str, Any]) -> None:
    assert refused(pkce.check, checking(context, **values))[0] == "invalid_request"


@pytest.mark.parametrize("values", [
    {"prompt": "none login"}, {"prompt": "consent create"}, {"max_age": "-1"}, {"max_age": "1e3"},
    {"max_age": "1234567890"}])
def test_prompt_values_are_known_and_max_age_an_integer(context: Context, values: dict[str, Any]) -> None:
    assert refused(prompt.check, checking(context, **values))[0] == "invalid_request"


def test_prompt_and_max_age_are_kept(context: Context) -> None:
    checked = checking(context, prompt="login consent", max_age="0")
    prompt.check(checked)
    assert (checked.fields["prompt"], checked.fields["max_age"]) == (("login", "consent"), 0)


def test_the_claims_parameter_must_have_its_shape(context: Context) -> None:
    assert refused(claims.check, checking(context, claims="[1, 2]"))[0] == "invalid_request"
    checked = checking(context, claims='{"id_token": {"acr": {"essential": true}}}')
    claims.check(checked)
    assert checked.fields["claims"] == {"id_token": {"acr": {"essential": True}}}


# -- the chain

def test_the_chain_gives_the_checked_request(context: Context) -> None:
    authz = check_authorization(context, params(nonce="n-1", prompt="login", acr_values="a b"))
    assert authz == AuthorizationRequest(client_id="portal", redirect_uri=REDIRECT, scopes=("openid", "profile"),
                                         code_challenge=CHALLENGE, state="st-1", nonce="n-1", prompt=("login",),
                                         acr_values=("a", "b"))


def test_a_failure_after_the_redirect_uri_goes_back_to_the_client_with_its_state(context: Context) -> None:
    with pytest.raises(RedirectableError) as error:
        check_authorization(context, params(code_challenge=[], response_mode="form_post"))
    assert (error.value.error, error.value.redirect_uri, error.value.state, error.value.response_mode) == (
        "invalid_request", REDIRECT, "st-1", "form_post")
    with pytest.raises(PageError):  # before it: a page, whatever else is wrong
        check_authorization(context, params(redirect_uri="https://evil.example/cb", code_challenge=[]))


def test_the_chain_runs_in_order_and_push_skips_resolution_and_the_par_rule(context: Context) -> None:
    assert [c.__module__.rsplit(".", 1)[1] for c in AUTHORIZE] == [
        "request_object", "client", "redirect_uri", "par", "parameters", "response_type", "scope", "pkce", "prompt",
        "claims"]
    with pytest.raises(RedirectableError) as error:  # PAR is asked for before PKCE
        check_authorization(context, params(client_id="pusher", code_challenge=[]))
    assert "pushed" in (error.value.description or "")
    assert request_object.resolve not in PUSHED and par.check not in PUSHED
    authz, checked = check_pushed(context, PUSHER, params(client_id="pusher"))
    assert authz.client_id == "pusher" and checked.redirect_uri == REDIRECT
    with pytest.raises(PageError):  # a pusher names only itself
        check_pushed(context, PUSHER, params(client_id="portal"))
