"""The provider's few-seconds client cache: one re-read when a copy expires, not one per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from idp.app import create_app
from idp.settings import Settings
from idp.storage.models import Client


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def provider(embedded_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    app = create_app(embedded_settings)
    provider = app.state.provider
    provider.storage.clients.add(Client(client_id="svc", name="Dịch vụ", auth_method="client_secret_basic",
                                        redirect_uris=()))
    clock = Clock()
    monkeypatch.setattr("idp.oidc.client_directory.time.monotonic", clock)
    reads: list[str] = []
    read = provider.storage.clients.get
    monkeypatch.setattr(provider.storage.clients, "get", lambda cid: reads.append(cid) or read(cid))
    provider.test_clock, provider.test_reads = clock, reads
    yield provider
    app.state.runtime.close()


def test_a_fresh_copy_is_served_without_reading(provider: Any) -> None:
    assert provider.find_client("svc").name == "Dịch vụ"
    provider.test_clock.now += 4
    assert provider.find_client("svc") is not None
    assert provider.test_reads == ["svc"]


def test_an_expired_copy_is_reread_by_one_request_while_the_others_use_it(provider: Any) -> None:
    provider.find_client("svc")
    provider.test_clock.now += 6  # expired, within the grace period
    assert provider.client_directory._reader.acquire(blocking=False)  # another request is re-reading it
    try:
        assert provider.find_client("svc").name == "Dịch vụ"
        assert provider.test_reads == ["svc"]
    finally:
        provider.client_directory._reader.release()
    assert provider.find_client("svc") is not None  # nobody re-reading: this request does
    assert provider.test_reads == ["svc", "svc"]


def test_a_long_expired_or_forgotten_copy_is_never_served(provider: Any) -> None:
    provider.find_client("svc")
    provider.storage.clients.remove("svc")
    provider.test_clock.now += 11  # beyond the grace period: read even while another request reads
    assert provider.client_directory._reader.acquire(blocking=False)
    try:
        assert provider.find_client("svc") is None
    finally:
        provider.client_directory._reader.release()
    provider.storage.clients.add(Client(client_id="svc", name="Mới", auth_method="none", redirect_uris=()))
    provider.forget_client("svc")  # e.g. after a registration update
    assert provider.find_client("svc").name == "Mới"
    assert provider.test_reads == ["svc", "svc", "svc"]
