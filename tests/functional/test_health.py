"""``/healthz`` and ``/readyz`` on a real ``idp serve``."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.functional.helpers import free_port, running_server


def test_embedded_default_is_ready_with_no_configuration(tmp_path: Path) -> None:
    with running_server({}, cwd=tmp_path) as base:
        assert httpx.get(base + "/healthz").json() == {"status": "ok"}
        ready = httpx.get(base + "/readyz")
        assert ready.status_code == 200 and ready.json()["down"] == []
    assert (tmp_path / "var" / "idp.sqlite3").exists()


def test_postgres_and_redis_ready(postgres_url: str, redis_url: str, tmp_path: Path) -> None:
    env = {"IDP_DATABASE_URL": postgres_url, "IDP_REDIS_URL": redis_url, "IDP_AUTO_MIGRATE": "true",
           "IDP_DATA_DIR": str(tmp_path / "var")}
    with running_server(env) as base:
        assert httpx.get(base + "/readyz").status_code == 200


def test_readyz_names_what_is_down(tmp_path: Path) -> None:
    env = {"IDP_DATA_DIR": str(tmp_path / "var"), "IDP_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    with running_server(env) as base:
        ready = httpx.get(base + "/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "down": ["redis"]}
