"""A rotation in doubt (the claim committed, its answer never arrived) is settled however the
client's retry arrives: on another replica before the first one could reach the database, the
retry finds the mark the first one left and is served as a refresh; without a mark, a replay is
still a replay. Real SQL storage on both databases; the replicas share one ephemeral store."""

from __future__ import annotations

import socket

from idp.oidc.settlement import RotationSettlement
from idp.storage.db import Timeouts
from idp.storage.ephemeral.memory import MemoryStore
from idp.storage.protocols import Successor
from idp.storage.sql import SqlStorage
from tests.unit.storage.test_sql_conformance import make_grant


def unreachable_storage() -> SqlStorage:
    """A replica's storage whose database refuses connections (a closed port on loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return SqlStorage.open(f"postgresql://postgres@127.0.0.1:{port}/none", timeouts=Timeouts(connect=1))


def test_a_retry_on_another_replica_settles_the_rotation_the_first_could_not(storage: SqlStorage) -> None:
    make_grant(storage)
    shared = MemoryStore()
    # Replica A claimed h0 -> h1; the claim committed but A never saw the answer, and cannot reach
    # the database to settle it now (its background keeps trying).
    assert storage.grants.use_refresh_token("h0", Successor("h1", "portal", None)).status == "used"
    cut_off = unreachable_storage()
    try:
        RotationSettlement(cut_off, shared).in_doubt("h0", "h1")
        # The client's retry reaches replica B: its claim reads as a replay, but B settles first.
        replica_b = RotationSettlement(storage, shared)
        assert storage.grants.use_refresh_token("h0", Successor("h2", "portal", None)).status == "reused"
        assert replica_b.settle_marked("h0") is True
        assert storage.grants.use_refresh_token("h0", Successor("h2", "portal", None)).status == "used"
        assert storage.grants.find_refresh_token("h1") is None  # the successor nobody received is gone
        # A later replay of h0 (its successor h2 was handed out) finds no mark: still a replay.
        assert replica_b.settle_marked("h0") is False
        assert storage.grants.use_refresh_token("h0", Successor("h3", "portal", None)).status == "reused"
    finally:
        cut_off.close()


def test_a_replay_without_a_mark_is_not_settled(storage: SqlStorage) -> None:
    make_grant(storage)
    assert storage.grants.use_refresh_token("h0", Successor("h1", "portal", None)).status == "used"
    settlement = RotationSettlement(storage, MemoryStore())
    assert settlement.settle_marked("h0") is False
    assert storage.grants.find_refresh_token("h1") is not None
