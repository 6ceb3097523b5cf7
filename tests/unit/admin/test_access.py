"""Who may use the admin API with a session: an administrator whose second factor is fresh; the
role missing, one factor only, or a second factor older than the console allows is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from idp.accounts.service import create_local_account, set_role
from idp.admin.access import FRESH_SECOND_FACTOR_SECONDS, Caller, SessionRefusal, caller_of_session
from idp.app import create_app
from idp.sessions import SsoSession
from idp.settings import Settings
from policies.context import Authentication, SessionState
from policies.loa import Level
from policies.session import session_to_json

PASSWORD = "một câu mật khẩu dài đủ dùng"
SIGNED_IN_AT = 1_800_000_000


@pytest.fixture
def provider(embedded_settings: Settings) -> Iterator[Any]:
    app = create_app(embedded_settings)
    provider = app.state.provider
    for username in ("quantri", "canbo"):
        create_local_account(provider.storage, username, PASSWORD)
    set_role(provider.storage, "quantri", "administrator", granted=True)
    yield provider
    app.state.runtime.close()


def session(provider: Any, username: str, amr: tuple[str, ...]) -> SsoSession:
    account = provider.storage.accounts.get_by_username(username)
    login = Authentication(Level.LOCAL_MFA if "mfa" in amr else Level.LOCAL_BASIC, amr, "local", SIGNED_IN_AT)
    return SsoSession(id="s", sid="sid", subject_id=account.subject_id, auth_time=SIGNED_IN_AT,
                      created_at=SIGNED_IN_AT, last_seen=SIGNED_IN_AT, amr=amr, adapter="local", username=username,
                      policy=session_to_json(SessionState(login=login)))


def test_an_administrator_with_a_fresh_second_factor(provider: Any) -> None:
    caller = caller_of_session(provider, session(provider, "quantri", ("pwd", "otp", "mfa")), now=SIGNED_IN_AT + 60)
    assert isinstance(caller, Caller) and caller.name == "official:quantri" and len(caller.scopes) == 4


def test_refusals(provider: Any) -> None:
    two = session(provider, "quantri", ("pwd", "otp", "mfa"))
    late = SIGNED_IN_AT + FRESH_SECOND_FACTOR_SECONDS + 1
    assert caller_of_session(provider, two, now=late) is SessionRefusal.SECOND_FACTOR_NOT_FRESH
    assert caller_of_session(provider, session(provider, "quantri", ("pwd",)),
                             now=SIGNED_IN_AT + 60) is SessionRefusal.NO_SECOND_FACTOR
    assert caller_of_session(provider, session(provider, "canbo", ("pwd", "otp", "mfa")),
                             now=SIGNED_IN_AT + 60) is SessionRefusal.NOT_ADMINISTRATOR
