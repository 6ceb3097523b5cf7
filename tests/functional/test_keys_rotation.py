"""Must show (issue 4): rotation without a single relying party failing.

A relying party caches the JWKS; an operator rotates with ``idp keys rotate`` (another process in
real life; the CLI entry point here); the running provider picks the rotation up by itself within
seconds; tokens issued after the rotation verify with the RP's cached JWKS, tokens issued before
keep verifying; ``idp keys retire`` then removes the old key from the JWKS. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from jose import jwt as jose_jwt
from jose.exceptions import JWTError
from sqlalchemy import select

from idp.audit.sql import SqlAuditLog
from idp.cli import main
from idp.runtime import open_storage
from idp.settings import load_settings
from idp.storage.schema import audit_events
from keys import InvalidToken, KeyRing, encode_jwt, open_key_ring
from tests.unit.keys.conftest import make_older

ISSUER = "https://sso.example.gov.vn"


@pytest.fixture(params=["sqlite", "postgresql"])
def provider_env(request: pytest.FixtureRequest, tmp_path, monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("IDP_ISSUER", ISSUER)
    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("IDP_SIGNING_ALGORITHMS", '["ES256"]')
    monkeypatch.setenv("IDP_JWKS_MAX_AGE_SECONDS", "60")
    monkeypatch.setenv("IDP_KEY_REFRESH_SECONDS", "0.2")
    if request.param == "postgresql":
        monkeypatch.setenv("IDP_DATABASE_URL", request.getfixturevalue("postgres_url"))
        monkeypatch.setenv("IDP_AUTO_MIGRATE", "true")
        monkeypatch.setenv("IDP_KEY_ENCRYPTION_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    yield


def idp(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def id_token(ring: KeyRing) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "ps-9f2c", "aud": "dichvucong", "iat": now, "exp": now + 300,
              "name": "Trần Thị Bình"}
    return encode_jwt(ring.signer(), claims)


def rp_verify(token: str, cached_jwks: dict[str, Any]) -> dict[str, Any]:
    """What a relying party does: pick the key by kid from its cached JWKS, verify with python-jose."""
    kid = jose_jwt.get_unverified_header(token)["kid"]
    matching = [k for k in cached_jwks["keys"] if k["kid"] == kid]
    if not matching:
        raise JWTError(f"kid {kid} not in the cached JWKS")
    return jose_jwt.decode(token, matching[0], algorithms=["ES256"], audience="dichvucong", issuer=ISSUER)


def wait_for(condition, seconds: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def test_relying_party_survives_rotation_and_retirement(provider_env, capsys) -> None:
    settings = load_settings()
    storage = open_storage(settings)
    provider = open_key_ring(settings, storage, SqlAuditLog(storage.db))
    provider.start_auto_refresh()
    try:
        body, headers = provider.jwks_document()
        assert headers["Cache-Control"] == "public, max-age=60"
        rp_cached_jwks = json.loads(body)  # the RP fetched the JWKS before the rotation
        old_kid = provider.signer().kid
        old_token = id_token(provider)

        # The next key is younger than the JWKS cache lifetime: the CLI refuses to promote it.
        code, _, err = idp(capsys, "keys", "rotate")
        assert code == 1 and "--force" in err and "Traceback" not in err

        (upcoming,) = [r for r in storage.keys.list() if r.state == "next"]
        make_older(storage, upcoming.kid, 60 + 1)  # ...published for longer than max-age now
        code, rotation, _ = idp(capsys, "keys", "rotate", "--alg", "ES256")
        assert code == 0 and rotation["current"] == upcoming.kid and rotation["retired"] == old_kid

        # The running provider picks the rotation up by itself (no restart).
        assert wait_for(lambda: provider.signer().kid == upcoming.kid)
        new_token = id_token(provider)
        assert rp_verify(new_token, rp_cached_jwks)["name"] == "Trần Thị Bình"  # the RP's OLD cache

        fresh_jwks = provider.jwks()
        assert rp_verify(old_token, fresh_jwks)["sub"] == "ps-9f2c"  # old tokens keep verifying
        assert provider.verify_jwt(old_token)[1]["sub"] == "ps-9f2c"
        code, listing, _ = idp(capsys, "keys", "list")
        old_row = next(row for row in listing if row["kid"] == old_kid)
        assert old_row["state"] == "retired" and old_row["published"] and old_row["published_until"]

        code, retired, _ = idp(capsys, "keys", "retire", "--", old_kid)  # a kid may begin with "-"
        assert code == 0 and retired["state"] == "withdrawn"
        assert wait_for(lambda: old_kid not in {k["kid"] for k in provider.jwks()["keys"]})
        assert provider.jwks_document()[1]["ETag"] != headers["ETag"]
        with pytest.raises(JWTError):
            rp_verify(old_token, provider.jwks())
        with pytest.raises(InvalidToken):
            provider.verify_jwt(old_token)
        assert rp_verify(id_token(provider), rp_cached_jwks)  # and the RP's old cache still works

        with storage.db.connect() as conn:
            types = [row.type for row in conn.execute(select(audit_events.c.type).order_by(audit_events.c.seq))]
        assert types.count("key.rotated") == 1 and types.count("key.retired") == 1
        assert types.count("key.generated") == 3  # first start: current + next; the rotation: a new next
    finally:
        provider.close()
        storage.close()


def test_cli_errors_are_one_readable_line(provider_env, capsys) -> None:
    assert idp(capsys, "keys", "list")[0] == 0
    code, _, err = idp(capsys, "keys", "retire", "no-such-kid")
    assert code == 1 and err.startswith("idp: ") and err.count("\n") == 1 and "no-such-kid" in err
