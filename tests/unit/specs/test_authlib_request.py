"""The authlib request shape our endpoints hand to authlib's server."""

from __future__ import annotations

import pytest
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError

from idp.specs.authlib_request import PlainOAuth2Request


def test_has_every_field_authlib_sets() -> None:
    ours = PlainOAuth2Request("POST", "https://idp.example.vn/token", {}, [], [("grant_type", "client_credentials")])
    theirs = OAuth2Request("POST", "https://idp.example.vn/token", headers={})
    assert set(vars(theirs)) - {"payload"} <= set(vars(ours))
    assert ours.payload.grant_type == "client_credentials" and ours.form == {"grant_type": "client_credentials"}


@pytest.mark.parametrize("uri", ["http://idp.example.vn/token", "ftp://idp.example.vn/token", "http:///token"])
def test_refuses_an_insecure_issuer_every_time(uri: str) -> None:
    for _ in range(2):  # the remembered answer is still a refusal
        with pytest.raises(InsecureTransportError):
            PlainOAuth2Request("POST", uri, {}, [], [])


def test_loopback_http_is_allowed_for_development() -> None:
    assert PlainOAuth2Request("GET", "http://127.0.0.1:8000/token", {}, [("a", "1")], []).args == {"a": "1"}
