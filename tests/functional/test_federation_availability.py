"""An upstream that is down or slow gives SourceUnavailable within the configured timeout —
never a wait without end, never mistaken for a refusal of the person."""

from __future__ import annotations

import time

import pytest

from adapters.base import SourceUnavailable
from adapters.oidc.adapter import OidcUpstreamAdapter
from adapters.oidc.config import OidcConfig
from idp.sandbox import NationalSandbox
from idp.sandbox.server import bind_loopback
from tests.unit.sandbox.support import (  # noqa: F401 - fixtures
    CALLBACK,
    CLIENT,
    dvcqg_config,
    national,
    sandbox,
    sign_in,
    vneid_config,
)


def test_an_upstream_answering_503_is_unavailable(national: NationalSandbox) -> None:  # noqa: F811
    adapter = OidcUpstreamAdapter(vneid_config(national))
    try:
        request, pending = sign_in(adapter, "049085001234")
        national.vneid.set_mode("down")
        with pytest.raises(SourceUnavailable) as caught:
            adapter.complete(CALLBACK, request, pending)
        assert caught.value.reason == "upstream_unavailable"
    finally:
        adapter.close()


def test_a_slow_token_endpoint_times_out_within_the_timeout(national: NationalSandbox) -> None:  # noqa: F811
    adapter = OidcUpstreamAdapter(dvcqg_config(national, timeout_seconds=1))
    try:
        request, pending = sign_in(adapter, "049085001234")
        national.dvcqg.slow_seconds = 3
        national.dvcqg.set_mode("slow")
        started = time.monotonic()
        with pytest.raises(SourceUnavailable) as caught:
            adapter.complete(CALLBACK, request, pending)
        elapsed = time.monotonic() - started
        assert caught.value.reason == "upstream_timeout"
        assert 0.9 <= elapsed < 2.0
    finally:
        adapter.close()


def test_an_upstream_that_is_not_running_is_unavailable_at_once() -> None:
    sock = bind_loopback()  # a port nobody serves once closed
    port = sock.getsockname()[1]
    sock.close()
    config = OidcConfig(
        id="gone", type="oidc", issuer=f"http://127.0.0.1:{port}/realms/citizen", client_id=CLIENT.client_id,
        client_secret=CLIENT.client_secret, timeout_seconds=2,
    )  # fmt: skip
    adapter = OidcUpstreamAdapter(config)
    try:
        started = time.monotonic()
        with pytest.raises(SourceUnavailable) as caught:
            adapter.begin(CALLBACK)
        assert caught.value.reason == "upstream_unreachable"
        assert time.monotonic() - started < 2.0
    finally:
        adapter.close()


def test_discovery_recovers_when_the_upstream_comes_back(national: NationalSandbox) -> None:  # noqa: F811
    config = OidcConfig(
        id="keycloak", type="oidc", issuer=national.vneid.issuer, client_id=CLIENT.client_id,
        client_secret=CLIENT.client_secret, timeout_seconds=2,
    )  # fmt: skip
    adapter = OidcUpstreamAdapter(config)
    try:
        national.vneid.set_mode("down")
        with pytest.raises(SourceUnavailable):
            adapter.begin(CALLBACK)
        national.vneid.set_mode("normal")
        url, _ = adapter.begin(CALLBACK)  # a failed discovery is not cached
        assert url.startswith(national.vneid.issuer)
    finally:
        adapter.close()
