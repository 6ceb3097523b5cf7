"""The S256 code challenge (RFC 7636 §4.2) this provider computes as a client equals authlib's, an
independent implementation, for every verifier shape RFC 7636 §4.1 allows."""

from __future__ import annotations

import secrets
import string

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from idp.specs.rfc7636_pkce import s256_code_challenge

UNRESERVED = string.ascii_letters + string.digits + "-._~"


def test_the_challenge_is_authlibs() -> None:
    for length in (43, 64, 128):
        verifier = "".join(secrets.choice(UNRESERVED) for _ in range(length))
        assert s256_code_challenge(verifier) == create_s256_code_challenge(verifier)
    assert "=" not in s256_code_challenge("v" * 43)
