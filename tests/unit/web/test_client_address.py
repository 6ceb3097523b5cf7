"""The client address behind trusted proxies (idp.web.context.forwarded_client) and the
replaced ``IDP_TRUST_FORWARDED_FOR`` setting."""

from __future__ import annotations

import ipaddress

import pytest

from idp.settings import SettingsError, load_settings
from idp.web.context import forwarded_client

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))


@pytest.mark.parametrize(("connection", "headers", "client"), [
    ("10.0.0.5", ["198.51.100.66, 203.0.113.9"], "203.0.113.9"),  # the left-most is the client's own writing
    ("10.0.0.5", ["198.51.100.66", "203.0.113.9, 10.1.1.1"], "203.0.113.9"),  # two header lines, one list
    ("10.0.0.5", ["10.3.3.3, 10.2.2.2"], "10.3.3.3"),  # every hop ours: the left-most
    ("10.0.0.5", [], "10.0.0.5"),
    ("10.0.0.5", ["unknown"], "10.0.0.5"),
    ("10.0.0.5", ["203.0.113.9:443"], "10.0.0.5"),
    ("10.0.0.5", ["203.0.113.9, bad, 10.1.1.1"], "10.0.0.5"),  # garbage before a valid hop is reached
    ("10.0.0.5", ["::ffff:203.0.113.9"], "203.0.113.9"),
    ("fd00::1", ["2001:DB8::0:7"], "2001:db8::7"),
    ("203.0.113.50", ["198.51.100.1"], "203.0.113.50"),  # not from a proxy: the header is not read
    (None, ["198.51.100.1"], None),
])
def test_forwarded_client(connection: str | None, headers: list[str], client: str | None) -> None:
    assert forwarded_client(connection, headers, PROXIES) == client


def test_the_old_boolean_stops_start_up_naming_the_replacement(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_TRUST_FORWARDED_FOR", "false")  # even switched off: the operator must remove it
    with pytest.raises(SettingsError, match="IDP_TRUSTED_PROXIES"):
        load_settings()


def test_trusted_proxies_must_be_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_TRUSTED_PROXIES", '["10.0.0.0/8", "proxy.internal"]')
    with pytest.raises(SettingsError, match="IDP_TRUSTED_PROXIES"):
        load_settings()
    monkeypatch.setenv("IDP_TRUSTED_PROXIES", '["10.0.0.0/8", "2001:db8::/32"]')
    assert load_settings().trusted_proxies == ["10.0.0.0/8", "2001:db8::/32"]
