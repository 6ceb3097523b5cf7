"""An administrator resets a directory official's second factors (the real slapd): over the admin
API from the session of an administrator who is themself a directory official (the group
``lanh-dao`` mapped to ``administrator``), accepted only with a fresh second factor of their own;
and with ``idp users reset-mfa`` naming the official by their directory username. Both audited
with the operator; the official then signs in with their password alone and may enrol again."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest

from tests.data.ldap.slapd import SlapdServer, officials_provider_env
from tests.functional.browser_client import Browser
from tests.functional.helpers import call_idp, running_server
from tests.functional.test_console import NOWHERE, enrol_totp, sign_in_page

OFFICIAL_PASSWORD = "Mat-khau-thu-nghiem-2025"


@dataclass
class Deployment:
    base: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def deployment(slapd: SlapdServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = Path(tmp_path_factory.mktemp("factor-reset"))
    env = officials_provider_env(slapd, folder, roles={"lanh-dao": "administrator"})  # an.nguyen is in lanh-dao
    with running_server(env) as base:
        yield Deployment(base, env)


def events(deployment: Deployment, event_type: str) -> list[dict]:
    exported = call_idp(["audit", "export", "--since", "1h", "--format", "jsonl"], deployment.env)
    assert exported.returncode == 0, exported.stderr
    return [e for e in map(json.loads, exported.stdout.splitlines()) if e["type"] == event_type]


def asks_a_code(deployment: Deployment, username: str) -> bool:
    """Whether a password sign-in of ``username`` to /account is asked for a second factor."""
    browser = Browser(deployment.base)
    try:
        return 'name="code"' in sign_in_page(browser, "/account", username, OFFICIAL_PASSWORD).text
    finally:
        browser.close()


def test_a_directory_administrator_resets_an_officials_factors_over_the_api(deployment: Deployment) -> None:
    official = Browser(deployment.base)
    enrol_totp(official, "binh.tran", OFFICIAL_PASSWORD)
    official.close()
    assert asks_a_code(deployment, "binh.tran")

    administrator = Browser(deployment.base)
    secret, _codes = enrol_totp(administrator, "an.nguyen", OFFICIAL_PASSWORD)  # signed in with a password only
    refused = administrator.http.delete("/admin/people/binh.tran/second-factor")
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_user_authentication"
    denied = [e for e in events(deployment, "admin.action") if e["outcome"] == "denied"]
    assert [(e["username"], e["reason"]) for e in denied] == [("an.nguyen", "no_second_factor")]
    assert asks_a_code(deployment, "binh.tran")  # nothing was reset
    administrator.close()

    administrator = Browser(deployment.base)  # a new sign-in, with the second factor
    mfa = sign_in_page(administrator, "/account", "an.nguyen", OFFICIAL_PASSWORD)
    assert 'name="code"' in mfa.text
    done = administrator.follow(administrator.submit(mfa, {"code": pyotp.TOTP(secret).at(time.time() + 30)}),
                                stop_at=NOWHERE)
    assert done.status_code == 200
    unknown = administrator.http.delete("/admin/people/khong.ai/second-factor")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    reset = administrator.http.delete("/admin/people/binh.tran/second-factor")
    assert reset.status_code == 200, reset.text
    body = reset.json()
    assert body["holder"] == "person" and body["totp_removed"] and body["recovery_codes_removed"]
    administrator.close()

    assert not asks_a_code(deployment, "binh.tran")  # the password alone signs in: they enrol again
    removed = events(deployment, "mfa.totp.removed")[-1]
    assert removed["subject"] == body["subject_id"] and removed["details"]["actor"] == "official:an.nguyen"
    assert removed["details"]["action"] == "mfa.reset" and removed["details"]["totp"]


def test_the_command_resets_an_official_named_by_their_directory_username(deployment: Deployment) -> None:
    official = Browser(deployment.base)
    enrol_totp(official, "binh.tran", OFFICIAL_PASSWORD, at=time.time() + 30)  # not the step used above
    official.close()
    assert asks_a_code(deployment, "binh.tran")

    unknown = call_idp(["users", "reset-mfa", "khong.ai", "--operator", "Trần Văn Quản"], deployment.env)
    assert unknown.returncode != 0 and "khong.ai" in unknown.stderr and "Traceback" not in unknown.stderr
    result = call_idp(["users", "reset-mfa", "BINH.TRAN", "--operator", "Trần Văn Quản"], deployment.env)
    assert result.returncode == 0, result.stderr
    made = json.loads(result.stdout)
    assert made["holder"] == "person" and made["totp_removed"] and made["recovery_codes_removed"]
    assert not asks_a_code(deployment, "binh.tran")
    removed = events(deployment, "mfa.totp.removed")[-1]
    assert removed["subject"] == made["subject_id"] and removed["details"]["actor"] == "Trần Văn Quản"
