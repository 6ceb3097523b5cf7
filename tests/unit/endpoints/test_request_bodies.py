"""Request bodies are read no further than their limit: a huge or endless body to a form endpoint
(/token, /introspect, /revoke, /par, /authorize, the sign-in form) or to registration is refused
after at most the limit, whether it declares its length or streams without one. Driven through the
ASGI interface, which shows how much of the body the application took."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idp.app import create_app
from idp.endpoints.common import MAX_FORM_BYTES
from idp.settings import Settings
from tests.loops import run_on_new_loop

CHUNK = 16 * 1024
FORM = b"application/x-www-form-urlencoded"


class Exchange:
    """One POST: a body of ``total`` bytes offered in chunks; what the application read of it and
    what it answered."""

    def __init__(self, app: Any, path: str, total: int, content_type: bytes = FORM,
                 content_length: int | None = None, bearer: str | None = None) -> None:
        self.app, self.path, self.total = app, path, total
        self.headers = [(b"host", b"127.0.0.1:8000"), (b"content-type", content_type)]
        if bearer is not None:
            self.headers.append((b"authorization", f"Bearer {bearer}".encode()))
        if content_length is not None:
            self.headers.append((b"content-length", str(content_length).encode()))
        self.read = 0
        self.messages: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        chunk = b"a" * min(CHUNK, self.total - self.read)
        self.read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": self.read < self.total}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    def run(self) -> tuple[int, bytes]:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": self.path, "raw_path": self.path.encode(), "query_string": b"",
                 "root_path": "", "headers": self.headers, "client": ("127.0.0.1", 50000),
                 "server": ("127.0.0.1", 8000)}
        run_on_new_loop(self.app(scope, self.receive, self.send))
        status = self.messages[0]["status"]
        return status, b"".join(m.get("body", b"") for m in self.messages[1:])


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return create_app(Settings(data_dir=tmp_path_factory.mktemp("bodies") / "var", registration_enabled=True))


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke", "/par"])
def test_a_streamed_form_body_over_the_limit_is_refused_after_the_limit(app: Any, path: str) -> None:
    exchange = Exchange(app, path, total=64 * MAX_FORM_BYTES)  # 4 MiB on offer, no length given
    status, body = exchange.run()
    assert status == 413
    assert json.loads(body) == {"error": "invalid_request", "error_description": "request body too large"}
    assert exchange.read <= MAX_FORM_BYTES + CHUNK  # read no further than the limit


@pytest.mark.parametrize("path", ["/authorize", "/interaction/abc/login"])
def test_a_person_s_form_over_the_limit_gets_a_page_after_the_limit(app: Any, path: str) -> None:
    exchange = Exchange(app, path, total=64 * MAX_FORM_BYTES)
    status, body = exchange.run()
    assert status == 400 and "Yêu cầu không hợp lệ" in body.decode()
    assert exchange.read <= MAX_FORM_BYTES + CHUNK


def test_a_declared_length_over_the_limit_is_refused_unread(app: Any) -> None:
    exchange = Exchange(app, "/token", total=MAX_FORM_BYTES + CHUNK, content_length=MAX_FORM_BYTES + CHUNK)
    status, _ = exchange.run()
    assert status == 413 and exchange.read == 0


def test_a_form_body_at_the_limit_is_read(app: Any) -> None:
    exchange = Exchange(app, "/token", total=MAX_FORM_BYTES, content_length=MAX_FORM_BYTES)
    status, body = exchange.run()
    assert exchange.read == MAX_FORM_BYTES
    answer = json.loads(body)  # read: it has no grant_type (RFC 6749 §5.2: invalid_request)
    assert status == 400 and answer["error"] == "invalid_request" and "grant_type" in answer["error_description"]


def test_registration_refuses_a_huge_body_after_its_limit(app: Any) -> None:
    from idp.specs.rfc7591_registration import InitialAccessTokens

    token = InitialAccessTokens(app.state.provider.storage.db).issue("bodies")
    exchange = Exchange(app, "/register", total=64 * MAX_FORM_BYTES, content_type=b"application/json",
                        bearer=token)
    status, body = exchange.run()
    assert status == 413 and json.loads(body)["error"] == "invalid_client_metadata"
    assert exchange.read <= MAX_FORM_BYTES + CHUNK
