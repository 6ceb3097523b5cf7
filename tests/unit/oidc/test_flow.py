"""The sign-in flow (idp.oidc.flow) driven step by step without HTTP, on the real stores a default
deployment uses (SQLite and the in-process short-lived store): password, password + TOTP, an
upstream source (the testing adapter), consent, step-up, ``prompt=none``, a person's or a policy's
refusal, a code issued once, and another browser refused at every step of someone else's sign-in."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from sqlalchemy import select

from adapters.base import RequestData
from idp.accounts.service import create_local_account
from idp.app import create_app
from idp.audit.events import AuditContext
from idp.errors import OAuthError, PageError
from idp.oidc.flow import AuthorizationFlow, Deny, IssueCode, Outcome, Prompt, ShowPage, Upstream
from idp.oidc.flow.checks import id_token_hint
from idp.oidc.provider import Provider
from idp.sessions import SsoSession
from idp.settings import Settings
from idp.specs.authorization_request import AuthorizationRequest
from idp.storage.models import Client
from idp.storage.schema import audit_events
from keys.jwt import encode_jwt

PASSWORD = "mat-khau-rat-dai-cua-lan-2026"
#: The provider each flow fixture was built in (the flow holds only its narrow services).
PROVIDERS: dict[int, Provider] = {}
REDIRECT = "https://dichvu.example.vn/cb"


class TestBrowser:
    """A browser as the flow sees it: a binding secret (made when first needed) and a session cookie."""

    __test__ = False

    def __init__(self, flow: AuthorizationFlow, ip: str = "203.0.113.7") -> None:
        self.flow = flow
        self.ip = ip
        self.secret: str | None = None
        self.session_id: str | None = None

    def key(self) -> str:
        if self.secret is None:
            self.secret = secrets.token_urlsafe(32)
        return hashlib.sha256(self.secret.encode()).hexdigest()

    def owns(self, key: str | None) -> bool:
        return bool(key) and self.secret is not None and hmac.compare_digest(self.key(), key or "")

    def session(self) -> SsoSession | None:
        return self.flow.sessions.get(self.session_id)

    def context(self, session_id: str | None = None) -> AuditContext:
        return AuditContext(ip=self.ip, session_id=session_id)

    def take(self, outcome: Outcome) -> Outcome:
        """Keep the cookie of a session the step started, as the HTTP layer sets it."""
        if outcome.session is not None:
            self.session_id = outcome.session.id
        return outcome


@pytest.fixture
def flow(tmp_path: Path) -> Iterator[AuthorizationFlow]:
    """A provider with the local accounts and a testing upstream (``tsrc``, and ``tsrc-mfa`` that
    reports local-mfa), three clients: ``portal`` (trusted), ``shop`` (asks consent) and ``hoso``
    (its ``profile`` scope needs a local-mfa sign-in: step-up)."""
    users = {"an": {"password": "an-password", "claims": {"name": "Trần Văn An"}}}
    adapters = [{"id": "local", "type": "local", "display_name": {"vi": "Tài khoản nội bộ"}},
                {"id": "tsrc", "type": "testing", "users": users, "display_name": {"vi": "Nguồn thử"}},
                {"id": "tsrc-mfa", "type": "testing", "users": users, "acr": "local-mfa", "amr": ["pwd", "otp"]}]
    (tmp_path / "adapters.yaml").write_text(json.dumps({"adapters": adapters}))
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "default.yaml").write_text("version: 1\nadapters: []\nscopes: [openid]\n")
    for client_id in ("portal", "shop"):
        (policies / f"{client_id}.yaml").write_text(
            f"version: 1\nclient_id: {client_id}\nadapters: [local, tsrc]\nscopes: [openid, profile]\n")
    (policies / "hoso.yaml").write_text(
        "version: 1\nclient_id: hoso\nadapters: [tsrc, tsrc-mfa]\nscopes: [openid, profile]\n"
        "step_up: [{scope: profile, acr: local-mfa, within_seconds: 300}]\n")
    settings = Settings(data_dir=tmp_path / "var", adapters_file=tmp_path / "adapters.yaml", policies_dir=policies,
                        login_backoff_seconds=0)
    app = create_app(settings)
    provider = app.state.provider
    for client_id, trusted in (("portal", True), ("shop", False), ("hoso", True)):
        provider.storage.clients.add(Client(client_id=client_id, name=f"Dịch vụ {client_id}", auth_method="none",
                                            redirect_uris=(REDIRECT,), trusted=trusted))
    create_local_account(provider.storage, "lan", PASSWORD, name="Nguyễn Thị Lan")
    PROVIDERS[id(provider.flow)] = provider
    yield provider.flow
    del PROVIDERS[id(provider.flow)]
    app.state.runtime.close()


def provider_of(flow: AuthorizationFlow) -> Provider:
    return PROVIDERS[id(flow)]


def request(client_id: str = "portal", **values: Any) -> AuthorizationRequest:
    return AuthorizationRequest(client_id=client_id, redirect_uri=REDIRECT, scopes=values.pop("scopes", ("openid",)),
                                code_challenge=secrets.token_urlsafe(32), state="st-1", **values)


def redeemed(flow: AuthorizationFlow, outcome: Outcome) -> Any:
    """The code of an IssueCode outcome, redeemed: what the client's token request would get."""
    assert isinstance(outcome, IssueCode) and outcome.code, outcome
    code = provider_of(flow).codes.redeem(outcome.code).code
    assert code is not None
    return code


def events(flow: AuthorizationFlow, event_type: str) -> list[tuple[str, str | None, str | None]]:
    query = select(audit_events.c.outcome, audit_events.c.reason, audit_events.c.username).where(
        audit_events.c.type == event_type).order_by(audit_events.c.seq)
    with provider_of(flow).storage.db.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def login(flow: AuthorizationFlow, browser: TestBrowser, authz: AuthorizationRequest, username: str = "lan",
          password: str = PASSWORD, adapter: str = "local") -> Outcome:
    prompt = browser.take(flow.begin(authz, browser))
    assert isinstance(prompt, Prompt) and prompt.page == "login", prompt
    return browser.take(flow.after_first_factor(prompt.interaction.id, browser, adapter, username, password))


def enrol_totp(flow: AuthorizationFlow) -> pyotp.TOTP:
    account = provider_of(flow).storage.accounts.get_by_username("lan")
    enrolment = provider_of(flow).totp.begin_enrolment(account.id)
    totp = pyotp.TOTP(enrolment.secret)
    provider_of(flow).totp.confirm_enrolment(account.id, totp.now())
    return totp


def test_password_sign_in_issues_one_code_for_the_person(flow: AuthorizationFlow) -> None:
    browser = TestBrowser(flow)
    prompt = flow.begin(request(), browser)
    assert isinstance(prompt, Prompt) and prompt.page == "login"
    page = flow.show_login(prompt.interaction.id, browser)
    assert isinstance(page, ShowPage) and [s["id"] for s in page.facts["adapters"]] == ["local", "tsrc"]
    outcome = browser.take(flow.after_first_factor(prompt.interaction.id, browser, "local", " lan ", PASSWORD))
    assert isinstance(outcome, IssueCode) and outcome.session is not None and outcome.request.state == "st-1"
    code = redeemed(flow, outcome)
    account = provider_of(flow).storage.accounts.get_by_username("lan")
    assert code.subject_id == account.subject_id and code.amr == ("pwd",) and code.acr.endswith("/acr/local-basic")
    assert events(flow, "signin") == [("success", None, "lan")]
    with pytest.raises(PageError) as gone:  # the interaction was consumed with the code: never a second one
        flow.resume(prompt.interaction.id, browser)
    assert gone.value.message_id == "session_expired"


def test_wrong_password_and_unknown_user_read_the_same_but_are_audited_apart(flow: AuthorizationFlow) -> None:
    browser = TestBrowser(flow)
    interaction = flow.begin(request(), browser)
    assert isinstance(interaction, Prompt)
    for username in ("lan", "nobody"):
        page = flow.after_first_factor(interaction.interaction.id, browser, "local", username, "wrong-password-1")
        assert isinstance(page, ShowPage) and (page.page, page.error_id, page.status) == ("login", "login_failed", 401)
        assert page.session is None and browser.session() is None
    empty = flow.after_first_factor(interaction.interaction.id, browser, "local", "lan", "")
    assert isinstance(empty, ShowPage) and (empty.error_id, empty.status) == ("login_failed", 400)
    assert events(flow, "signin") == [("failure", "wrong_password", "lan"), ("failure", "unknown_user", "nobody")]
    with pytest.raises(PageError) as refused:  # a source the client's policy does not allow
        flow.after_first_factor(interaction.interaction.id, browser, "tsrc-mfa", "an", "an-password")
    assert refused.value.message_id == "invalid_request"


def test_password_then_totp_signs_in_at_local_mfa(flow: AuthorizationFlow) -> None:
    totp = enrol_totp(flow)
    browser = TestBrowser(flow)
    asked = login(flow, browser, request())
    assert isinstance(asked, Prompt) and asked.page == "mfa" and asked.session is None and browser.session() is None
    assert isinstance(flow.show_mfa(asked.interaction.id, browser), ShowPage)
    wrong = flow.after_second_factor(asked.interaction.id, browser, "000000")
    assert isinstance(wrong, ShowPage) and (wrong.page, wrong.error_id, wrong.status) == ("mfa", "invalid_code", 401)
    outcome = browser.take(flow.after_second_factor(asked.interaction.id, browser, totp.at(time.time() + 30)))
    code = redeemed(flow, outcome)
    assert code.acr.endswith("/acr/local-mfa") and {"otp", "mfa"} <= set(code.amr)
    assert events(flow, "signin.mfa") == [("failure", "invalid_code", "lan"), ("success", None, "lan")]
    with pytest.raises(PageError) as again:  # the code was issued: this sign-in is over
        flow.after_second_factor(asked.interaction.id, browser, totp.at(time.time() + 30))
    assert again.value.message_id == "session_expired"


def test_upstream_sign_in_links_a_subject_and_its_answer_works_once(flow: AuthorizationFlow) -> None:
    browser = TestBrowser(flow)
    prompt = flow.begin(request(), browser)
    assert isinstance(prompt, Prompt)
    sent = flow.start_upstream(prompt.interaction.id, browser, "tsrc")
    assert isinstance(sent, Upstream) and sent.url.startswith(flow.callback_url("tsrc"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(sent.url).query).items()}
    answer = RequestData(query=query, headers={}, client_ip=browser.ip)
    outcome = browser.take(flow.after_upstream("tsrc", query["state"], browser, answer))
    code = redeemed(flow, outcome)
    subject = provider_of(flow).storage.subjects.get(code.subject_id)
    assert subject is not None and subject.claims["name"] == "Trần Văn An"
    with pytest.raises(PageError) as replay:
        flow.after_upstream("tsrc", query["state"], browser, answer)
    assert replay.value.message_id == "upstream_rejected"


def test_upstream_answer_in_another_browser_is_refused_and_signs_nobody_in(flow: AuthorizationFlow) -> None:
    owner, victim = TestBrowser(flow), TestBrowser(flow, ip="198.51.100.9")
    prompt = flow.begin(request(), owner)
    assert isinstance(prompt, Prompt)
    sent = flow.start_upstream(prompt.interaction.id, owner, "tsrc")
    query = {k: v[0] for k, v in parse_qs(urlsplit(sent.url).query).items()}
    with pytest.raises(PageError) as refused:
        flow.after_upstream("tsrc", query["state"], victim, RequestData(query=query, headers={}, client_ip=None))
    assert (refused.value.message_id, refused.value.status_code) == ("interaction_foreign", 403)
    assert victim.session() is None and ("denied", "foreign_browser", None) in events(flow, "signin")


def test_consent_is_asked_remembered_and_then_answered_at_once(flow: AuthorizationFlow) -> None:
    browser = TestBrowser(flow)
    asked = login(flow, browser, request("shop", scopes=("openid", "profile")))
    assert isinstance(asked, Prompt) and asked.page == "consent" and asked.session is not None
    page = flow.show_consent(asked.interaction.id, browser)
    assert isinstance(page, ShowPage) and page.facts["client_name"] == "Dịch vụ shop"
    assert [s["name"] for s in page.facts["scopes"]] == ["profile"]  # what openid alone gives needs no consent
    allowed = flow.after_consent(asked.interaction.id, browser, "allow")  # goes on in this step: the code
    assert isinstance(allowed, IssueCode) and allowed.session is None
    code = redeemed(flow, allowed)
    assert code.scopes == ("openid", "profile")
    for again in (lambda: flow.resume(asked.interaction.id, browser),  # consumed with the code
                  lambda: flow.after_consent(asked.interaction.id, browser, "allow")):
        with pytest.raises(PageError) as gone:
            again()
        assert gone.value.message_id == "session_expired"
    again = flow.begin(request("shop", scopes=("openid", "profile")), browser)
    assert isinstance(again, IssueCode) and again.session is None  # remembered; the SSO session answers
    redeemed(flow, again)


def test_declined_consent_ends_the_request_with_access_denied(flow: AuthorizationFlow) -> None:
    browser = TestBrowser(flow)
    asked = login(flow, browser, request("shop", scopes=("openid", "profile")))
    assert isinstance(asked, Prompt) and asked.page == "consent"
    outcome = flow.after_consent(asked.interaction.id, browser, "deny")
    assert isinstance(outcome, Deny) and outcome.error == "access_denied" and outcome.request.state == "st-1"
    assert provider_of(flow).interactions.get(asked.interaction.id) is None
    assert events(flow, "consent.denied") == [("denied", None, None)]


def test_step_up_asks_a_stronger_sign_in_for_the_scope_that_needs_it(flow: AuthorizationFlow) -> None:
    browser = TestBrowser(flow)
    first = redeemed(flow, login(flow, browser, request("hoso"), "an", "an-password", "tsrc"))
    assert first.acr.endswith("/acr/local-basic")
    stronger = flow.begin(request("hoso", scopes=("openid", "profile")), browser)
    assert isinstance(stronger, Prompt) and stronger.page == "login"
    assert stronger.interaction.prompt is not None and stronger.interaction.prompt["kind"] == "step_up"
    offered = flow.show_login(stronger.interaction.id, browser)
    assert "tsrc-mfa" in [s["id"] for s in offered.facts["adapters"]]
    outcome = browser.take(flow.after_first_factor(stronger.interaction.id, browser, "tsrc-mfa", "an",
                                                   "an-password"))
    code = redeemed(flow, outcome)
    assert code.acr.endswith("/acr/local-mfa") and code.scopes == ("openid", "profile")


def test_prompt_none_answers_from_the_session_or_refuses_without_storing(flow: AuthorizationFlow) -> None:
    browser = TestBrowser(flow)
    refused = flow.begin(request(prompt=("none",)), browser)
    assert isinstance(refused, Deny) and refused.error == "login_required"
    assert browser.secret is None  # nothing was stored, so nothing was bound
    redeemed(flow, login(flow, browser, request()))
    silent = flow.begin(request(prompt=("none",)), browser)
    assert isinstance(silent, IssueCode) and silent.session is None
    assert events(flow, "code.issued") == [("success", None, None)]  # an SSO join is recorded
    # consent would be needed: no page
    consent = flow.begin(request("shop", scopes=("openid", "profile"), prompt=("none",)), browser)
    assert isinstance(consent, Deny) and consent.error == "consent_required"


def test_another_browser_or_session_cannot_take_someone_elses_sign_in(flow: AuthorizationFlow) -> None:
    owner, stranger = TestBrowser(flow), TestBrowser(flow, ip="198.51.100.9")
    prompt = flow.begin(request("shop", scopes=("openid", "profile")), owner)
    assert isinstance(prompt, Prompt)
    for step in (lambda: flow.show_login(prompt.interaction.id, stranger),
                 lambda: flow.after_first_factor(prompt.interaction.id, stranger, "local", "lan", PASSWORD),
                 lambda: flow.resume(prompt.interaction.id, stranger),
                 lambda: flow.start_upstream(prompt.interaction.id, stranger, "tsrc")):
        with pytest.raises(PageError) as refused:
            step()
        assert (refused.value.message_id, refused.value.status_code) == ("interaction_foreign", 403)
    assert stranger.session() is None and events(flow, "signin") == [("denied", "foreign_browser", None)] * 4
    asked = owner.take(flow.after_first_factor(prompt.interaction.id, owner, "local", "lan", PASSWORD))
    assert isinstance(asked, Prompt) and asked.page == "consent"  # still the owner's
    twin = TestBrowser(flow)  # the owner's binding cookie without the owner's session
    twin.secret = owner.secret
    with pytest.raises(PageError) as refused:
        flow.after_consent(asked.interaction.id, twin, "allow")
    assert refused.value.message_id == "interaction_foreign"
    assert ("denied", "foreign_session", None) in events(flow, "signin")
    assert isinstance(flow.after_consent(asked.interaction.id, owner, "allow"), IssueCode)


def test_the_id_token_hint_check_keeps_drops_or_refuses_the_session(flow: AuthorizationFlow) -> None:
    """idp.oidc.flow.checks.id_token_hint: the session goes on when the hint names its person, a new
    sign-in is needed for someone else (or ``login_required`` under ``prompt=none``), and a hint not
    signed by us or issued to another client is ``invalid_request``."""
    provider = provider_of(flow)
    browser = TestBrowser(flow)
    redeemed(flow, login(flow, browser, request()))
    session = browser.session()
    portal, shop = flow.client("portal"), flow.client("shop")
    assert session is not None and portal is not None and shop is not None

    def hint(sub: str, aud: str = "portal", signer: Any = None) -> str:
        return encode_jwt(signer or provider.ring.signer(), {"iss": flow.issuer, "sub": sub, "aud": aud,
                                                             "iat": int(time.time()), "exp": int(time.time()) + 60})

    own = hint(provider.subject_ids.for_client(session.subject_id, portal))
    assert id_token_hint.check(flow.hints, request(id_token_hint=own), portal, session) is session
    assert id_token_hint.check(flow.hints, request(), portal, session) is session  # no hint
    assert id_token_hint.check(flow.hints, request(id_token_hint=hint("someone-else")), portal, session) is None
    refusals = {"login_required": request(id_token_hint=hint("someone-else"), prompt=("none",)),
                "invalid_request": request(id_token_hint=own.rsplit(".", 1)[0] + ".AAAA")}
    for error, authz in refusals.items():
        with pytest.raises(OAuthError) as refused:
            id_token_hint.check(flow.hints, authz, portal, session)
        assert refused.value.error == error
    with pytest.raises(OAuthError) as other_client:
        id_token_hint.check(flow.hints, request("shop", id_token_hint=own), shop, session)
    assert other_client.value.description == "id_token_hint was issued to another client"
    # Through the flow: another person's hint under prompt=none ends the request at the client.
    silent = flow.begin(request(id_token_hint=hint("someone-else"), prompt=("none",)), browser)
    assert isinstance(silent, Deny) and silent.error == "login_required"
