"""Forged or broken upstream responses are refused with UpstreamRejected (a stable reason for
the audit trail and the page) and no person is created: the broker links only identities that
``complete`` returned."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.base import RequestData, UpstreamRejected
from adapters.oidc.adapter import OidcUpstreamAdapter
from idp.audit.sql import SqlAuditLog
from idp.identity.linking import link_identity
from idp.identity.protection import derive_identity_keys
from idp.sandbox import NationalSandbox
from idp.storage.schema import subjects
from idp.storage.sql import SqlStorage
from tests.unit.sandbox.support import (  # noqa: F401 - fixtures
    CALLBACK,
    browser_login,
    dvcqg_config,
    national,
    sandbox,
    sign_in,
    vneid_config,
)

KEYS = derive_identity_keys(b"demo-kek-for-tests-only-32bytes!")
CITIZEN = "049085001234"


@pytest.fixture(params=["vneid", "dvcqg"])
def upstream(request: pytest.FixtureRequest, national: NationalSandbox) -> Iterator[tuple[Any, OidcUpstreamAdapter]]:  # noqa: F811
    provider = national.vneid if request.param == "vneid" else national.dvcqg
    config = vneid_config(national) if request.param == "vneid" else dvcqg_config(national)
    adapter = OidcUpstreamAdapter(config)
    yield provider, adapter
    adapter.close()


def broker_sign_in(adapter: OidcUpstreamAdapter, storage: SqlStorage, request: RequestData, pending: Any) -> None:
    """What the broker does on the callback: complete, then link the person."""
    identity = adapter.complete(CALLBACK, request, pending)
    link_identity(storage, identity, hash_key=KEYS.hash_key, enc_key=KEYS.enc_key, audit=SqlAuditLog(storage.db))


def subject_count(storage: SqlStorage) -> int:
    with storage.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(subjects)).scalar_one())


def refused(adapter: OidcUpstreamAdapter, storage: SqlStorage, request: RequestData, pending: Any) -> str:
    with pytest.raises(UpstreamRejected) as caught:
        broker_sign_in(adapter, storage, request, pending)
    assert subject_count(storage) == 0
    return caught.value.reason


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("bad_signature", "bad_signature"),
        ("wrong_aud", "wrong_audience"),
        ("wrong_issuer", "wrong_issuer"),
        ("expired", "expired"),
        ("alg_none", "alg_not_allowed"),
        ("hmac_public_key", "alg_not_allowed"),
        ("embedded_jwk", "header_not_allowed"),
        ("unknown_kid", "unknown_kid"),
        ("wrong_nonce", "nonce_mismatch"),
        ("missing_personal_id", "missing_personal_id"),
        ("userinfo_other_sub", "userinfo_sub_mismatch"),
    ],
)
def test_forged_responses_are_refused(
    upstream: tuple[Any, OidcUpstreamAdapter], sqlite_storage: SqlStorage, mode: str, reason: str
) -> None:
    provider, adapter = upstream
    provider.set_mode(mode)
    request, pending = sign_in(adapter, CITIZEN)
    assert refused(adapter, sqlite_storage, request, pending) == reason


def test_wrong_state_is_refused(upstream: tuple[Any, OidcUpstreamAdapter], storage: SqlStorage) -> None:
    _, adapter = upstream
    request, pending = sign_in(adapter, CITIZEN)
    forged = RequestData(query={**request.query, "state": "attacker-state"})
    assert refused(adapter, storage, forged, pending) == "state_mismatch"
    without = RequestData(query={k: v for k, v in request.query.items() if k != "state"})
    assert refused(adapter, storage, without, pending) == "state_mismatch"


def test_a_callback_for_another_sign_in_is_refused(upstream: tuple[Any, OidcUpstreamAdapter], sqlite_storage: SqlStorage) -> None:  # noqa: E501
    _, adapter = upstream
    _, mine = adapter.begin(CALLBACK)
    theirs, _ = sign_in(adapter, CITIZEN)  # an attacker's own callback, injected into my browser
    assert refused(adapter, sqlite_storage, theirs, mine) == "state_mismatch"


def test_a_replayed_callback_is_refused(upstream: tuple[Any, OidcUpstreamAdapter], storage: SqlStorage) -> None:
    _, adapter = upstream
    request, pending = sign_in(adapter, CITIZEN)
    broker_sign_in(adapter, storage, request, pending)
    assert subject_count(storage) == 1
    with pytest.raises(UpstreamRejected) as caught:
        broker_sign_in(adapter, storage, request, pending)  # same state, same code, same kept pending
    assert caught.value.reason == "replayed_callback"
    assert subject_count(storage) == 1


def test_a_declined_consent_is_refused(upstream: tuple[Any, OidcUpstreamAdapter], sqlite_storage: SqlStorage) -> None:
    _, adapter = upstream
    url, pending = adapter.begin(CALLBACK)
    request = browser_login(url, CITIZEN, decision="deny")
    assert request.query["error"] == "access_denied"
    assert refused(adapter, sqlite_storage, request, pending) == "upstream_denied"


def test_a_stale_sign_in_is_refused(upstream: tuple[Any, OidcUpstreamAdapter], sqlite_storage: SqlStorage) -> None:
    _, adapter = upstream
    request, pending = sign_in(adapter, CITIZEN)
    stale = {**pending, "created_at": pending["created_at"] - 3600}
    assert refused(adapter, sqlite_storage, request, stale) == "state_expired"
