"""Outbound requests to client-supplied URLs reach public addresses only: every resolved address is
checked before any connection, the socket goes to the address that was checked, and the Host
header, TLS server name and certificate check stay those of the URL's host name."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from idp.net.outbound import OutboundPolicy, OutboundRefused, outbound_client
from idp.settings import SettingsError, load_settings
from tests.unit.net.support import EchoServer, Listener, Recording, self_signed

STRICT = OutboundPolicy()
LOOPBACK = OutboundPolicy(allow_loopback=True)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


def fetch(policy: OutboundPolicy, url: str, **options: object) -> httpx.Response:
    with outbound_client(policy, timeout=2, **options) as http:  # type: ignore[arg-type]
        return http.get(url)


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://[fd00:ec2::254]/latest/meta-data/",  # its IPv6 twin (unique local)
    "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/", "http://100.64.0.1/",  # private, shared
    "http://0.0.0.0/", "http://[::]/",  # unspecified (0.0.0.0 reaches this machine on Linux)
    "http://224.0.0.1/", "http://255.255.255.255/", "http://240.0.0.1/", "http://198.18.0.1/",
    "http://[fe80::1]/", "http://[fec0::1]/", "http://[ff02::1]/",
    "http://[::ffff:169.254.169.254]/", "http://[::ffff:10.0.0.1]/",  # IPv4-mapped
    "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a00:1::]/",  # NAT64 and 6to4 of internal IPv4
    "http://[2001:db8::1]/", "http://[::127.0.0.1]/",
])
@pytest.mark.parametrize("policy", [STRICT, LOOPBACK], ids=["strict", "loopback-allowed"])
def test_internal_addresses_are_refused_before_any_connection(url: str, policy: OutboundPolicy) -> None:
    sockets = Recording()
    with pytest.raises(OutboundRefused):
        fetch(policy, url, connection=sockets)
    assert sockets.connects == []


@pytest.mark.parametrize("host", ["localhost", "127.1", "2130706433", "[::1]", "[::ffff:127.0.0.1]", "127.8.9.10"])
def test_loopback_is_refused_unless_allowed(host: str) -> None:
    listener = Listener()
    try:
        sockets = Recording()
        url = f"http://{host}:{listener.port}/jwks"
        with pytest.raises(OutboundRefused) as refused:
            fetch(STRICT, url, connection=sockets)
        assert "loopback" in str(refused.value)
        assert sockets.connects == [] and not listener.connected()
    finally:
        listener.close()


def test_a_name_with_one_internal_address_among_public_ones_is_refused() -> None:
    sockets = Recording()
    answers = {"rp.example.vn": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "10.9.8.7"]}
    with pytest.raises(OutboundRefused) as refused:
        fetch(STRICT, "https://rp.example.vn/jwks", connection=sockets, resolve=lambda host, port: answers[host])
    assert "10.9.8.7 is private" in str(refused.value) and sockets.connects == []


def test_allowed_loopback_connects_to_the_checked_address_with_the_original_host(echo: EchoServer) -> None:
    sockets = Recording()
    response = fetch(LOOPBACK, f"http://localhost:{echo.port}/jwks", connection=sockets)
    assert response.status_code == 200
    assert echo.hosts == [f"localhost:{echo.port}"]
    assert sockets.connects == [("127.0.0.1", echo.port)]  # the address, never the name again


def test_the_host_is_resolved_once_and_that_answer_is_connected_to(echo: EchoServer) -> None:
    """DNS rebinding: a second answer (here: none at all) is never asked for."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"] if len(asked) == 1 else ["169.254.169.254"]

    sockets = Recording()
    response = fetch(LOOPBACK, f"http://rp.example.vn:{echo.port}/jwks", connection=sockets, resolve=resolve)
    assert response.text == f"rp.example.vn:{echo.port}"
    assert asked == ["rp.example.vn"] and sockets.connects == [("127.0.0.1", echo.port)]


def test_an_allow_listed_network_is_reached(echo: EchoServer) -> None:
    listed = OutboundPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))
    assert fetch(listed, f"http://127.0.0.1:{echo.port}/").status_code == 200
    assert echo.hosts == [f"127.0.0.1:{echo.port}"]
    intranet = OutboundPolicy(allowed_networks=(ipaddress.ip_network("10.20.0.0/16"),))
    assert intranet.refusal(ipaddress.ip_address("10.20.3.4")) is None
    assert intranet.refusal(ipaddress.ip_address("::ffff:10.20.3.4")) is None
    assert intranet.refusal(ipaddress.ip_address("10.21.0.1")) == "private"
    assert intranet.refusal(ipaddress.ip_address("169.254.169.254")) == "link-local"


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8",
                                     "64:ff9b::808:808"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert STRICT.refusal(ipaddress.ip_address(address)) is None


def test_tls_keeps_the_host_name_for_sni_and_the_certificate_check(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path, "rp.example.vn")
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    server = EchoServer(certificate)
    try:
        sockets = Recording()
        response = fetch(LOOPBACK, f"https://rp.example.vn:{server.port}/jwks", verify=trusted, connection=sockets,
                         resolve=lambda host, port: ["127.0.0.1"])
        assert response.status_code == 200 and server.hosts == [f"rp.example.vn:{server.port}"]
        assert server.server_names == ["rp.example.vn"] and sockets.connects == [("127.0.0.1", server.port)]
        # the same server under another name: its certificate does not match, nothing is sent
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch(LOOPBACK, f"https://other.example.vn:{server.port}/jwks", verify=trusted,
                  resolve=lambda host, port: ["127.0.0.1"])
        assert len(server.hosts) == 1
    finally:
        server.close()


def test_outbound_allowed_networks_setting() -> None:
    settings = load_settings(outbound_allowed_networks=["10.20.0.0/16", "fd12:3456::/32"])
    policy = OutboundPolicy.from_settings(settings)
    assert policy.allowed_networks == (ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("fd12:3456::/32"))
    assert policy.allow_loopback is False and OutboundPolicy.from_settings(load_settings()).allowed_networks == ()
    with pytest.raises(SettingsError, match="IDP_OUTBOUND_ALLOWED_NETWORKS") as bad:
        load_settings(outbound_allowed_networks=["intranet.example.vn"])
    assert "intranet.example.vn" not in str(bad.value)
