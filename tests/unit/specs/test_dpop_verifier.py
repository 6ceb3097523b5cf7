"""DpopVerifier (RFC 9449) on its own: nonces, URL normalisation, ath, replay on every ephemeral store."""

from __future__ import annotations

import time

import pytest

from idp.specs.rfc9449_dpop import DpopError, DpopVerifier, access_token_hash, normalise_url
from tests.functional.profile_rp import RpKey, dpop_proof

URL = "https://idp.example.vn/token"


def verifier(ephemeral, *, nonce_required: bool = False) -> DpopVerifier:
    return DpopVerifier(ephemeral, b"k" * 32, max_age=60, nonce_required=nonce_required)


def test_a_valid_proof_gives_the_key_thumbprint(ephemeral) -> None:
    key = RpKey()
    proof = verifier(ephemeral).verify([dpop_proof(key, "POST", URL)], method="POST", url=URL)
    assert proof.jkt == key.thumbprint() and proof.alg == "ES256"


def test_replay_is_refused_on_every_store(ephemeral) -> None:
    proof = dpop_proof(RpKey(), "POST", URL)
    checker = verifier(ephemeral)
    checker.verify([proof], method="POST", url=URL)
    with pytest.raises(DpopError, match="replayed"):
        checker.verify([proof], method="POST", url=URL)


def test_two_proof_headers_are_refused(ephemeral) -> None:
    key = RpKey()
    with pytest.raises(DpopError, match="exactly one"):
        verifier(ephemeral).verify([dpop_proof(key, "POST", URL)] * 2, method="POST", url=URL)


def test_server_nonce_is_required_when_configured(ephemeral) -> None:
    key, checker = RpKey(), verifier(ephemeral, nonce_required=True)
    with pytest.raises(DpopError) as missing:
        checker.verify([dpop_proof(key, "POST", URL)], method="POST", url=URL)
    assert missing.value.error == "use_dpop_nonce"
    nonce = missing.value.headers["DPoP-Nonce"]
    assert checker.verify([dpop_proof(key, "POST", URL, nonce=nonce)], method="POST", url=URL).jkt
    previous = checker.nonce(time.time() - 300)
    assert checker.verify([dpop_proof(key, "POST", URL, nonce=previous)], method="POST", url=URL)
    with pytest.raises(DpopError) as stale:
        checker.verify([dpop_proof(key, "POST", URL, nonce=checker.nonce(time.time() - 900))], method="POST",
                       url=URL)
    assert stale.value.error == "use_dpop_nonce"
    other_server = DpopVerifier(ephemeral, b"z" * 32, max_age=60, nonce_required=True)
    with pytest.raises(DpopError):
        other_server.verify([dpop_proof(key, "POST", URL, nonce=nonce)], method="POST", url=URL)


def test_ath_binds_the_proof_to_the_access_token(ephemeral) -> None:
    key, checker = RpKey(), verifier(ephemeral)
    url = "https://idp.example.vn/userinfo"
    assert checker.verify([dpop_proof(key, "GET", url, access_token="abc")], method="GET", url=url,
                          access_token="abc")
    with pytest.raises(DpopError, match="ath"):
        checker.verify([dpop_proof(key, "GET", url, access_token="other")], method="GET", url=url,
                       access_token="abc")
    assert access_token_hash("abc") == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"


@pytest.mark.parametrize(("given", "expected"), [
    ("HTTPS://IDP.example.vn:443/token?x=1#f", "https://idp.example.vn/token"),
    ("http://127.0.0.1:80/token", "http://127.0.0.1/token"),
    ("http://127.0.0.1:8000/token", "http://127.0.0.1:8000/token"),
    ("https://idp.example.vn", "https://idp.example.vn/"),
])
def test_htu_normalisation(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_strict_algorithms_refuse_rs256(ephemeral) -> None:
    with pytest.raises(DpopError, match="algorithm"):
        verifier(ephemeral).verify([dpop_proof(RpKey("RS256"), "POST", URL)], method="POST", url=URL,
                                   allowed_algorithms=("ES256", "PS256"))
