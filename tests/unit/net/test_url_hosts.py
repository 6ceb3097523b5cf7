"""URL hosts read as the resolver reads them: ``host_address`` (idp.net.outbound) turns every IP
literal spelling inet_aton / getaddrinfo accept into its address and leaves names alone;
``is_loopback_host`` and the registration check of fetched client URLs use that one reading."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from idp.clients.jwks import check_jwks_uri
from idp.clients.metadata import InvalidClientMetadata, check_fetched_uris, check_redirect_uri
from idp.net.outbound import OutboundPolicy, host_address
from idp.sandbox.provider import SandboxClient
from idp.settings import SettingsError, is_loopback_host, load_settings

LEGACY = [
    ("127.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("0X7F.0.0.1", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0x0a.1", "10.0.0.1"), ("012.0.0.5", "10.0.0.5"),
    ("169.254.43518", "169.254.169.254"), ("2852039166", "169.254.169.254"), ("1.2.3.0377", "1.2.3.255"),
    ("4294967295", "255.255.255.255"), ("0x00000000007f.1", "127.0.0.1"),
]
STANDARD = [
    ("10.0.0.5", "10.0.0.5"), ("::1", "::1"), ("[::1]", "::1"), ("[::ffff:10.0.0.1]", "::ffff:10.0.0.1"),
    ("::FFFF:127.0.0.1", "::ffff:127.0.0.1"), ("[fe80::1%25eth0]", "fe80::1%25eth0"),
]
NAMES = ["localhost", "rp.example.vn", "127.0.0.1.example.com", "127.0.0.1.", "0x7f.1.", "1.2.3.4.5", "256.1.1.1",
         "08.1.1.1", "0x", "4294967296", "1.2.65536", "127.0.0.1 x", " 127.0.0.1", "١٢٧.0.0.1", "1..2", "", "[]",
         "0x7f.1.example.com", "deadbeef"]


@pytest.mark.parametrize(("host", "address"), LEGACY + STANDARD)
def test_ip_literals_in_every_spelling_are_read_as_their_address(host: str, address: str) -> None:
    assert host_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", NAMES)
def test_names_and_invalid_literals_are_left_to_the_resolver(host: str) -> None:
    assert host_address(host) is None


@pytest.mark.parametrize("host", [h for h, _ in LEGACY + STANDARD if not h.startswith("[") and "%" not in h]
                         + [n for n in NAMES if n and not n.startswith(" ") and ".." not in n and n != "[]"])
def test_the_reading_agrees_with_the_system_resolver(host: str) -> None:
    """getaddrinfo with AI_NUMERICHOST answers exactly for the hosts read as literals (no DNS)."""
    try:
        answers = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError):
        numeric = None
    else:
        numeric = ipaddress.ip_address(answers[0][4][0])
    assert host_address(host) == numeric


LOOPBACK = ["localhost", "LOCALHOST", "localhost.", "app.localhost", "app.localhost.", "127.0.0.1", "127.8.9.10",
            "127.1", "0x7f.1", "0x7f.0.0.1", "0177.0.0.1", "2130706433", "0x7f000001", "::1", "[::1]",
            "::ffff:127.0.0.1", "[::ffff:127.0.0.1]"]
NOT_LOOPBACK = ["127.0.0.1.example.com", "localhost.example.com", "localhost..", "notlocalhost", "127.0.0.1.",
                "10.0.0.1", "0x0a.1", "2130706433.example.vn", "4294967296", "256.0.0.1", "[64:ff9b::7f00:1]",
                "[2002:7f00:1::]", "0.0.0.0", "::", ""]


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_spellings(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", NOT_LOOPBACK)
def test_not_loopback(host: str) -> None:
    assert not is_loopback_host(host)


# The callers of is_loopback_host


@pytest.mark.parametrize("uri", ["http://127.1/cb", "http://0x7f.1:8080/cb", "http://[::1]/cb",
                                 "http://localhost./cb", "http://2130706433/cb"])
def test_loopback_redirect_uris_may_use_http(uri: str) -> None:
    assert check_redirect_uri(uri) == uri
    assert SandboxClient("rp", "secret").allows_redirect(uri)


@pytest.mark.parametrize("uri", ["http://127.0.0.1.example.com/cb", "http://10.0.0.5/cb", "http://127.0.0.1./cb"])
def test_other_redirect_uris_need_https(uri: str) -> None:
    with pytest.raises(InvalidClientMetadata):
        check_redirect_uri(uri)
    assert not SandboxClient("rp", "secret").allows_redirect(uri)


@pytest.mark.parametrize("uri", ["https://0x7f.1/jwks", "https://2130706433/jwks", "https://localhost./jwks",
                                 "https://[::ffff:127.0.0.1]/jwks", "http://127.1:9/jwks"])
def test_a_loopback_jwks_uri_needs_the_loopback_setting(uri: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        check_jwks_uri(uri, allow_loopback=False)
    assert check_jwks_uri(uri, allow_loopback=True) == uri


def test_http_jwks_uri_only_for_loopback() -> None:
    with pytest.raises(ValueError, match="https"):
        check_jwks_uri("http://127.0.0.1.example.com/jwks", allow_loopback=True)


@pytest.mark.parametrize(("issuer", "accepted"), [
    ("http://127.1:8000", True), ("http://[::1]:8000", True), ("http://localhost.:8000", True),
    ("http://127.0.0.1.example.com", False), ("http://10.0.0.5:8000", False),
])
def test_an_http_issuer_must_be_loopback(issuer: str, accepted: bool) -> None:
    if accepted:
        assert load_settings(issuer=issuer).issuer == issuer
    else:
        with pytest.raises(SettingsError, match="IDP_ISSUER"):
            load_settings(issuer=issuer)


def test_the_serve_command_brackets_an_ipv6_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    """``idp serve --host ::ffff:127.0.0.1`` (loopback now) makes a valid issuer, not http://::ffff:..."""
    import argparse

    from idp.cli import serve

    monkeypatch.setenv("IDP_ISSUER", "set and removed so that the end of the test removes it again")
    seen: dict[str, str] = {}

    class Stop(Exception):
        pass

    def settings() -> None:
        import os

        seen["issuer"] = os.environ["IDP_ISSUER"]
        raise Stop

    monkeypatch.setattr(serve, "load_settings", settings)
    for host, issuer in (("::ffff:127.0.0.1", "http://[::ffff:127.0.0.1]:8001"), ("127.1", "http://127.1:8001")):
        monkeypatch.delenv("IDP_ISSUER")
        with pytest.raises(Stop):
            serve._serve(argparse.Namespace(demo=False, host=host, port=8001, workers=1))
        assert seen["issuer"] == issuer
        assert load_settings(issuer=issuer).issuer == issuer


# The registration check of the URLs the server fetches (the HTTP side: tests/functional/test_registration.py)

STRICT = OutboundPolicy()


@pytest.mark.parametrize("host", ["10.0.0.5", "169.254.169.254", "0x7f.1", "[::ffff:10.0.0.1]", "2130706433",
                                  "100.64.0.1", "[fd00::1]", "0xa9fea9fe", "[64:ff9b::a9fe:a9fe]", "0.0.0.0"])
@pytest.mark.parametrize("field", ["jwks_uri", "backchannel_logout_uri"])
def test_fetched_uris_at_refused_literals_are_refused(host: str, field: str) -> None:
    with pytest.raises(InvalidClientMetadata) as refused:
        check_fetched_uris({field: f"https://{host}/x"}, STRICT)
    assert str(refused.value).startswith(f"{field}: the server will not connect to ")


def test_the_description_names_the_address_behind_a_legacy_spelling() -> None:
    with pytest.raises(InvalidClientMetadata) as refused:
        check_fetched_uris({"jwks_uri": "https://0x7f.1/jwks"}, STRICT)
    assert str(refused.value) == "jwks_uri: the server will not connect to 0x7f.1, which is 127.0.0.1 (loopback)"
    with pytest.raises(InvalidClientMetadata) as refused:
        check_fetched_uris({"backchannel_logout_uri": "https://10.0.0.5/logout"}, STRICT)
    assert str(refused.value) == "backchannel_logout_uri: the server will not connect to 10.0.0.5 (private)"


@pytest.mark.parametrize("uri", ["https://93.184.215.14/jwks", "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/",
                                 "https://rp.example.vn/jwks", "https://internal.example.vn/jwks",
                                 "https://127.0.0.1.example.com/jwks"])
def test_public_literals_and_names_pass_without_dns(uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> None:
        raise AssertionError("no DNS lookup at registration")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    check_fetched_uris({"jwks_uri": uri, "backchannel_logout_uri": uri}, STRICT)


def test_other_uris_are_not_checked() -> None:
    check_fetched_uris({"logo_uri": "https://10.0.0.5/logo.png", "redirect_uris": ["http://127.0.0.1/cb"]}, STRICT)


def test_the_settings_open_what_the_fetch_opens() -> None:
    loopback = OutboundPolicy.from_settings(load_settings(allow_loopback_client_urls=True))
    for host in ("127.0.0.1", "0x7f.1", "2130706433", "[::1]", "[::ffff:127.0.0.1]"):
        check_fetched_uris({"jwks_uri": f"http://{host}:9/jwks"}, loopback)
    with pytest.raises(InvalidClientMetadata):
        check_fetched_uris({"jwks_uri": "https://10.0.0.5/jwks"}, loopback)
    networks = OutboundPolicy.from_settings(load_settings(outbound_allowed_networks=["10.20.0.0/16"]))
    for host in ("10.20.3.4", "0x0a.0x14.3.4", "[::ffff:10.20.3.4]"):
        check_fetched_uris({"backchannel_logout_uri": f"https://{host}/logout"}, networks)
    for host in ("10.21.0.1", "0x7f.1"):
        with pytest.raises(InvalidClientMetadata):
            check_fetched_uris({"backchannel_logout_uri": f"https://{host}/logout"}, networks)


def test_the_fetch_reads_legacy_literals_without_the_resolver() -> None:
    def resolve(host: str, port: int) -> list[str]:
        raise AssertionError(f"{host} is a literal")

    from idp.net.outbound import OutboundRefused

    for host in ("0x7f.1", "2130706433", "[::ffff:10.0.0.1]", "012.0.0.5"):
        with pytest.raises(OutboundRefused):
            STRICT.checked_addresses(host, 443, resolve)
    assert OutboundPolicy(allow_loopback=True).checked_addresses("0x7f.1", 443, resolve) == ["127.0.0.1"]
