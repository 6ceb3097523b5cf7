"""Erasing one's data needs a recent sign-in (as replacing a second factor): a person whose sign-in
is older than five minutes who asks for erasure is sent to sign in again, comes back to the
erasure confirmation, and only their confirmation then erases them. Over HTTP, on PostgreSQL and
Redis (where the test ages the session's sign-in as time would)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from idp.oidc.personal_data import ERASURE_SIGN_IN_MAX_AGE
from tests.conftest import postgres_redis_env
from tests.functional.browser_client import Browser
from tests.functional.helpers import call_idp, running_server

PASSWORD = "một câu mật khẩu dài đủ dùng"


@pytest.fixture(scope="module")
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    env = {"IDP_DATA_DIR": str(Path(tmp_path_factory.mktemp("erasure")) / "var")} | postgres_redis_env(request)
    added = call_idp(["users", "add", "congdan07", "--password-stdin", "--name", "Lê Thị Mai"],
                    env | {"IDP_AUTO_MIGRATE": "true"}, stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    with running_server(env) as base:
        yield env | {"base": base}


def age_sign_in(env: dict[str, str], session_id: str, seconds: int) -> None:
    """The session's sign-in as it will be ``seconds`` from now (its record in Redis)."""
    client = redis.Redis.from_url(env["IDP_REDIS_URL"])
    key = f"{env['IDP_REDIS_PREFIX']}session:{session_id}"
    record = json.loads(client.get(key) or b"null")
    record["auth_time"] -= seconds
    assert client.set(key, json.dumps(record), keepttl=True, xx=True)
    client.close()


def accounts_named(env: dict[str, str], username: str) -> int:
    with psycopg.connect(env["IDP_DATABASE_URL"]) as db:
        [(count,)] = db.execute("SELECT count(*) FROM accounts WHERE username = %s", (username,)).fetchall()
        return int(count)


def test_a_stale_sign_in_signs_in_again_before_erasing(env: dict[str, str]) -> None:
    browser = Browser(env["base"])
    login = browser.follow(browser.http.get("/account"), stop_at="http://127.0.0.1:9")
    browser.follow(browser.submit(login, {"username": "congdan07", "password": PASSWORD}), stop_at="x")
    page = browser.http.get("/account/data")
    assert page.status_code == 200 and "Lê Thị Mai" in page.text and "5 phút" in page.text
    age_sign_in(env, browser.http.cookies["vnidp_session"], ERASURE_SIGN_IN_MAX_AGE + 60)

    asked = browser.submit(page, {"confirm": "erase"})  # stale: not erased, sent to sign in again
    assert asked.status_code == 303 and asked.headers["location"].endswith("/login")
    assert accounts_named(env, "congdan07") == 1
    login = browser.follow(asked, stop_at="x")
    assert login.status_code == 200 and 'name="password"' in login.text
    back = browser.submit(login, {"username": "congdan07", "password": PASSWORD})
    assert back.status_code == 303 and back.headers["location"] == "/account/data?erase=confirm"
    confirmation = browser.http.get(back.headers["location"])
    assert confirmation.status_code == 200 and "Bạn vừa đăng nhập lại" in confirmation.text
    assert accounts_named(env, "congdan07") == 1  # signing in again erased nothing by itself

    erased = browser.submit(confirmation, {"confirm": "erase"})
    assert erased.status_code == 200 and "đã được xóa" in erased.text
    assert accounts_named(env, "congdan07") == 0
    browser.close()
