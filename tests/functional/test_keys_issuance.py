"""Must show (issue 4): the same token-issuance tests pass with software keys and SoftHSM2 keys.

Each token (ID token, JWT access token, logout token) is signed through ``encode_jwt`` by the
ring's current signer, then verified by an independent library (python-jose for RS256/ES256,
which is what most relying parties use; joserfc for PS256/EdDSA, which python-jose lacks) using
only the published JWKS, and by ``KeyRing.verify_jwt``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jose import jwt as jose_jwt
from joserfc import jwt as joserfc_jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet

from idp.audit.events import NullAuditLog
from idp.settings import Settings
from idp.storage.migrate import upgrade
from idp.storage.sql import SqlStorage
from keys import InvalidToken, KeyRing, check_time_claims, encode_jwt, open_key_ring
from tests.unit.keys.softhsm import SoftHsm, softhsm  # noqa: F401 - fixture

ISSUER = "https://sso.example.gov.vn"
ALGS = ["ES256", "RS256", "PS256", "EdDSA"]


def open_ring(backend: str, request: pytest.FixtureRequest, data_dir: Path, algs: list[str]) -> KeyRing:
    if backend == "software":
        settings = Settings(issuer=ISSUER, data_dir=data_dir, signing_algorithms=algs)
    else:
        hsm: SoftHsm = request.getfixturevalue("softhsm")
        settings = hsm.settings(data_dir, issuer=ISSUER, signing_algorithms=algs)
    storage = SqlStorage.open(f"sqlite:///{data_dir / 'idp.sqlite3'}")
    upgrade(storage.db.engine)
    request.addfinalizer(storage.close)
    return open_key_ring(settings, storage, NullAuditLog())


@pytest.fixture(scope="module", params=["software", "softhsm"])
def ring(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyRing]:
    """One ring per backend for the module (RSA key generation in SoftHSM2 takes a second or two)."""
    key_ring = open_ring(request.param, request, tmp_path_factory.mktemp("keys"), ALGS)
    yield key_ring
    key_ring.close()


def independent_verify(token: str, jwks: dict[str, Any], alg: str, audience: str) -> dict[str, Any]:
    kid = jose_jwt.get_unverified_header(token)["kid"]
    if alg in ("ES256", "RS256"):
        (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
        return jose_jwt.decode(token, jwk, algorithms=[alg], audience=audience, issuer=ISSUER,
                               options={"verify_at_hash": False})
    with warnings.catch_warnings():  # joserfc flags "EdDSA" as superseded by "Ed25519" (RFC 9864)
        warnings.simplefilter("ignore", SecurityWarning)
        decoded = joserfc_jwt.decode(token, KeySet.import_key_set(jwks), algorithms=[alg])
    assert decoded.claims["aud"] == audience and decoded.claims["iss"] == ISSUER
    return dict(decoded.claims)


def base_claims(audience: str) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": audience, "iat": now, "exp": now + 300}


@pytest.mark.parametrize("alg", ALGS)
def test_id_token(ring: KeyRing, alg: str) -> None:
    claims = {**base_claims("motcua-tinh"), "sub": "ps-1a2b", "nonce": "n-0S6_WzA2Mj", "auth_time": int(time.time()),
              "acr": f"{ISSUER}/acr/vneid-l2", "amr": ["pwd", "otp"], "family_name": "Nguyễn",
              "middle_name": "Văn", "given_name": "An"}
    token = encode_jwt(ring.signer(alg), claims)
    header, verified = ring.verify_jwt(token, typ="JWT")
    check_time_claims(verified)
    assert header["alg"] == alg and verified == claims
    assert independent_verify(token, ring.jwks(), alg, "motcua-tinh")["family_name"] == "Nguyễn"


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_jwt_access_token(ring: KeyRing, alg: str) -> None:
    claims = {**base_claims("https://api.example.gov.vn"), "sub": "ps-1a2b", "client_id": "motcua-tinh",
              "jti": "at-7c1", "scope": "openid vn_id"}
    token = encode_jwt(ring.signer(alg), claims, typ="at+jwt")
    assert ring.verify_jwt(token, typ="at+jwt")[1]["scope"] == "openid vn_id"
    assert independent_verify(token, ring.jwks(), alg, "https://api.example.gov.vn")["jti"] == "at-7c1"
    with pytest.raises(InvalidToken):
        ring.verify_jwt(token, typ="logout+jwt")  # an access token is not a logout token


def test_logout_token(ring: KeyRing) -> None:
    claims = {**base_claims("motcua-tinh"), "sub": "ps-1a2b", "sid": "s-31", "jti": "lo-1",
              "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
    claims.pop("exp")
    token = encode_jwt(ring.signer(), claims, typ="logout+jwt")
    header, verified = ring.verify_jwt(token, typ="logout+jwt")
    assert header["typ"] == "logout+jwt" and verified["sid"] == "s-31"


@pytest.mark.parametrize("backend", ["software", "softhsm"])
def test_rotation_keeps_old_tokens_verifying(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    ring = open_ring(backend, request, tmp_path, ["ES256"])
    before = encode_jwt(ring.signer(), base_claims("rp"))
    ring.lifecycle.rotate("ES256", force=True)
    ring.refresh()
    after = encode_jwt(ring.signer(), base_claims("rp"))
    assert ring.verify_jwt(before)[0]["kid"] != ring.verify_jwt(after)[0]["kid"]
    for token in (before, after):
        assert independent_verify(token, ring.jwks(), "ES256", "rp")
