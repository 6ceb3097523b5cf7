"""A running provider with two registered relying parties and a local account, on each backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import postgres_redis_env
from tests.functional.helpers import call_idp, running_server

PASSWORD = "một câu mật khẩu dài đủ dùng"
SECRET = "s3cret-of-the-relying-party-portal-0123456789"
SECRET2 = "s3cret-of-the-relying-party-motcua-0123456789"


@dataclass(frozen=True)
class Deployment:
    base: str
    env: dict[str, str]

    def redirect_uri(self, client_id: str) -> str:
        return f"http://127.0.0.1:9/{client_id}/cb"


def _prepare(env: dict[str, str]) -> None:
    for client_id, secret, extra in (("portal", SECRET, []), ("motcua", SECRET2, ["--scope", "openid",
                                                                                   "--scope", "profile"]),
                                     ("m2m", "m2m-secret-0123456789-0123456789-0123", ["--grant-type",
                                                                                       "client_credentials"])):
        args = ["clients", "add", client_id, "--secret-stdin", "--name", f"Dịch vụ {client_id}"]
        if client_id != "m2m":
            args += ["--redirect-uri", f"http://127.0.0.1:9/{client_id}/cb",
                     "--post-logout-redirect-uri", f"http://127.0.0.1:9/{client_id}/bye",
                     "--grant-type", "authorization_code", "--grant-type", "refresh_token"]
        result = call_idp(args + extra, env, stdin=secret + "\n")
        assert result.returncode == 0, result.stderr
    public = call_idp(["clients", "add", "spa", "--public", "--redirect-uri", "http://127.0.0.1:9/spa/cb"], env)
    assert public.returncode == 0, public.stderr
    user = call_idp(["users", "add", "canbo01", "--password-stdin", "--name", "Trần Thị Bình",
                    "--email", "binh@example.vn"], env, stdin=PASSWORD + "\n")
    assert user.returncode == 0, user.stderr
    json.loads(call_idp(["clients", "list"], env).stdout)


@pytest.fixture(scope="module", params=["embedded", "postgres+redis"])
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    data = Path(tmp_path_factory.mktemp("idp")) / "var"
    env = {"IDP_DATA_DIR": str(data)}
    if request.param == "postgres+redis":
        env |= postgres_redis_env(request) | {"IDP_AUTO_MIGRATE": "true"}
    _prepare(env | {"IDP_AUTO_MIGRATE": "true"})
    with running_server(env) as base:
        yield Deployment(base=base, env=env)
