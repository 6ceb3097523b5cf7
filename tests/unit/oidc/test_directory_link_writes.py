"""A directory sign-in (the real slapd) writes the person's identity link once: looking for their
second factors after the password reads it without writing (a person never seen holds none), and
the sign-in links them, whether it ends at the password or after the second factor."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import event

from idp.app import create_app
from idp.oidc.flow import AuthorizationFlow, IssueCode, Prompt
from idp.settings import Settings
from idp.storage.models import Client
from tests.data.ldap.slapd import SlapdServer, officials_provider_env
from tests.unit.oidc.test_flow import REDIRECT, TestBrowser, login, request

OFFICIAL_PASSWORD = "Mat-khau-thu-nghiem-2025"


@pytest.fixture
def provider(slapd: SlapdServer, tmp_path: Path) -> Iterator[Any]:
    env = officials_provider_env(slapd, tmp_path)  # the client hoso signs in with the directory only
    app = create_app(Settings(data_dir=Path(env["IDP_DATA_DIR"]), adapters_file=Path(env["IDP_ADAPTERS_FILE"]),
                              policies_dir=Path(env["IDP_POLICIES_DIR"]), login_backoff_seconds=0))
    provider = app.state.provider
    provider.storage.clients.add(Client(client_id="hoso", name="Hồ sơ", auth_method="none",
                                        redirect_uris=(REDIRECT,), trusted=True))
    yield provider
    provider.adapters.close()  # the directory's pooled connections
    app.state.runtime.close()


@pytest.fixture
def link_writes(provider: Any) -> Iterator[list[str]]:
    """Every INSERT or UPDATE of ``identity_links`` the provider's database runs."""
    seen: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.lstrip().split(None, 3)
        if words[:1] in (["INSERT"], ["UPDATE"]) and "identity_links" in statement.split("SET")[0]:
            seen.append(words[0])

    engine = provider.storage.db.engine
    event.listen(engine, "before_cursor_execute", watch)
    yield seen
    event.remove(engine, "before_cursor_execute", watch)


def sign_in(flow: AuthorizationFlow) -> tuple[TestBrowser, Any]:
    browser = TestBrowser(flow)
    return browser, login(flow, browser, request("hoso"), "binh.tran", OFFICIAL_PASSWORD, adapter="officials")


def test_a_password_sign_in_writes_the_link_once(provider: Any, link_writes: list[str]) -> None:
    _browser, outcome = sign_in(provider.flow)
    assert isinstance(outcome, IssueCode)
    assert link_writes == ["INSERT"]  # a person never seen: linked at the sign-in only
    link_writes.clear()
    _browser, outcome = sign_in(provider.flow)
    assert isinstance(outcome, IssueCode)
    assert link_writes == ["UPDATE"]  # known: the sign-in recorded once


def test_a_sign_in_with_a_second_factor_writes_the_link_once(provider: Any, link_writes: list[str]) -> None:
    flow = provider.flow
    first, _outcome = sign_in(flow)
    session = first.session()
    assert session is not None
    holder = flow.totp.holder_id(session.subject_id)  # the official's own factor row
    enrolment = flow.totp.begin_enrolment(holder, label="binh.tran")
    flow.totp.confirm_enrolment(holder, pyotp.TOTP(enrolment.secret).now())
    link_writes.clear()

    browser, outcome = sign_in(flow)
    assert isinstance(outcome, Prompt) and outcome.page == "mfa"
    assert link_writes == []  # the factor lookup only read the link
    done = browser.take(flow.after_second_factor(outcome.interaction.id, browser,
                                                 pyotp.TOTP(enrolment.secret).at(time.time() + 30)))
    assert isinstance(done, IssueCode) and browser.session() is not None
    assert link_writes == ["UPDATE"]
