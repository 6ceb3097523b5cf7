"""ClientKeys: registered jwks, jwks_uri fetching with cache and a rate-limited refetch, strict checks."""

from __future__ import annotations

import json
import time

import pytest

from idp.clients.jwks import ClientKeys, JwksUnavailable, check_jwk_set, check_jwks_uri
from idp.settings import Settings
from idp.storage.models import Client
from keys.errors import InvalidToken
from tests.functional.profile_rp import RpKey, assertion_claims

ALGS = ("ES256", "PS256", "RS256", "EdDSA")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(**extra: object) -> Client:
    return Client(client_id="rp", name="rp", auth_method="private_key_jwt", redirect_uris=(), extra=dict(extra))


def keys_with(documents: list[dict], clock: Clock) -> tuple[ClientKeys, list[str]]:
    fetched: list[str] = []

    def fetch(uri: str, timeout: float) -> bytes:
        fetched.append(uri)
        return json.dumps(documents[min(len(fetched), len(documents)) - 1]).encode()

    return ClientKeys(timeout=1, cache_seconds=300, refetch_seconds=30, allow_loopback=False, fetch=fetch,
                      clock=clock), fetched


def test_jwks_uri_is_cached_and_refetched_for_an_unknown_kid_at_most_every_30_s() -> None:
    old, new, clock = RpKey(), RpKey(), Clock()
    keys, fetched = keys_with([{"keys": [old.public_jwk()]}, {"keys": [new.public_jwk()]}], clock)
    rp = client(jwks_uri="https://rp.example.vn/jwks")
    keys.verify(rp, old.sign(assertion_claims("rp", "x")), algorithms=ALGS)
    keys.verify(rp, old.sign(assertion_claims("rp", "x")), algorithms=ALGS)
    assert len(fetched) == 1
    with pytest.raises(InvalidToken) as early:  # rotated, but the last fetch was just now
        keys.verify(rp, new.sign(assertion_claims("rp", "x")), algorithms=ALGS)
    assert early.value.reason == "unknown_kid" and len(fetched) == 1
    clock.now += 31
    keys.verify(rp, new.sign(assertion_claims("rp", "x")), algorithms=ALGS)
    assert len(fetched) == 2


def test_unreachable_jwks_uri_is_an_invalid_token() -> None:
    def fail(uri: str, timeout: float) -> bytes:
        raise JwksUnavailable("down")

    keys = ClientKeys(timeout=0.2, cache_seconds=0, refetch_seconds=1, allow_loopback=False, fetch=fail)
    with pytest.raises(InvalidToken):
        keys.verify(client(jwks_uri="https://rp.example.vn/jwks"), RpKey().sign({"a": 1}), algorithms=ALGS)


def test_real_fetch_times_out_quickly() -> None:
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts, never answers
    try:
        keys = ClientKeys(timeout=0.3, cache_seconds=0, refetch_seconds=1, allow_loopback=True)
        rp = client(jwks_uri=f"http://127.0.0.1:{server.getsockname()[1]}/jwks")
        started = time.monotonic()
        with pytest.raises(JwksUnavailable):
            keys.keys_of(rp)
        assert time.monotonic() - started < 3
    finally:
        server.close()


@pytest.mark.parametrize("uri", ["http://rp.example.vn/jwks", "https://127.0.0.1/jwks", "file:///etc/passwd",
                                 "https://user:pw@rp.example.vn/jwks", "http://127.0.0.1:9/jwks",
                                 "https://127.1/jwks", "https://2130706433/jwks", "https://[::ffff:127.0.0.1]/jwks"])
def test_jwks_uri_must_be_https_and_not_internal(uri: str) -> None:
    with pytest.raises(ValueError):
        check_jwks_uri(uri, allow_loopback=False)


def test_jwk_set_checks() -> None:
    key = RpKey()
    assert check_jwk_set({"keys": [key.public_jwk()]})
    bad: dict
    for bad in ({"keys": [key.key.as_dict(private=True) | {"kid": "a"}]}, {"keys": []}, {"keys": "x"},
                {"keys": [key.public_jwk(), key.public_jwk()]}, {"keys": [{"kty": "oct", "k": "AAAA", "kid": "s"}]},
                {"keys": [{k: v for k, v in key.public_jwk().items() if k != "kid"}]}):
        with pytest.raises(ValueError):
            check_jwk_set(bad)


def test_a_key_registered_for_another_alg_is_not_used() -> None:
    key = RpKey()
    rp = client(jwks={"keys": [{**key.public_jwk(), "alg": "PS256"}]})
    keys = ClientKeys(timeout=1, cache_seconds=1, refetch_seconds=1, allow_loopback=False)
    with pytest.raises(InvalidToken) as refused:
        keys.verify(rp, key.sign({"a": 1}), algorithms=ALGS)
    assert refused.value.reason == "unknown_kid"


@pytest.mark.parametrize("host", ["169.254.169.254", "10.0.0.1", "0x0a.0.0.1", "[64:ff9b::7f00:1]"])
def test_jwks_uri_resolving_to_an_internal_address_is_never_contacted(host: str) -> None:
    """The name check lets these through (https, not loopback to it: NAT64 reaches another host's
    127.0.0.1); the address check does not."""
    from tests.unit.net.support import Listener

    listener = Listener()
    try:
        uri = f"https://{host}:{listener.port}/jwks"
        assert check_jwks_uri(uri, allow_loopback=False) == uri
        keys = ClientKeys.from_settings(Settings(client_jwks_timeout_seconds=0.5, client_jwks_cache_seconds=0))
        with pytest.raises(JwksUnavailable) as refused:
            keys.verify(client(jwks_uri=uri), RpKey().sign(assertion_claims("rp", "x")), algorithms=ALGS)
        assert refused.value.reason == "jwks_unavailable" and "OutboundRefused" in str(refused.value)
        assert not listener.connected()
    finally:
        listener.close()


@pytest.mark.parametrize("host", ["127.1", "2130706433", "[::ffff:127.0.0.1]"])
def test_a_stored_loopback_jwks_uri_is_never_contacted(host: str) -> None:
    """Loopback in any spelling is refused by the name check, before any fetch (a client stored
    before registration refused these spellings included)."""
    from tests.unit.net.support import Listener

    listener = Listener()
    try:
        uri = f"https://{host}:{listener.port}/jwks"
        with pytest.raises(ValueError, match="loopback"):
            check_jwks_uri(uri, allow_loopback=False)
        keys = ClientKeys.from_settings(Settings(client_jwks_timeout_seconds=0.5, client_jwks_cache_seconds=0))
        with pytest.raises(JwksUnavailable) as refused:
            keys.verify(client(jwks_uri=uri), RpKey().sign(assertion_claims("rp", "x")), algorithms=ALGS)
        assert refused.value.reason == "jwks_unavailable"
        assert not listener.connected()
    finally:
        listener.close()


def test_loopback_jwks_uri_is_fetched_when_allowed() -> None:
    from tests.functional.profile_rp import Receiver

    key, receiver = RpKey(), Receiver()
    receiver.jwks = {"keys": [key.public_jwk()]}
    try:
        rp = client(jwks_uri=receiver.base.replace("127.0.0.1", "localhost") + "/jwks")
        allowed = ClientKeys.from_settings(Settings(allow_loopback_client_urls=True))
        assert allowed.verify(rp, key.sign(assertion_claims("rp", "x")), algorithms=ALGS)[1]["iss"] == "rp"
        assert receiver.jwks_fetches == 1
    finally:
        receiver.close()
