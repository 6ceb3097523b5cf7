"""Rotations in doubt: a refresh whose rotation may have committed although its response never
left. A database that froze (or a network that stalled) while the claim ran makes the server give
up and answer 503, yet the claim waits in the database's socket and commits when it resumes; a
failure after the claim leaves it committed as well. Either way the client holds the presented
token, and its retry would read as a replay that revokes the whole grant.

Every such rotation is *settled*: :meth:`GrantStore.settle_rotation` either makes the claim
impossible (its successor's hash taken by a tombstone, so a claim still in flight fails) or undoes
it. The replica that gave up settles at once when it can, else in the background until the
database answers; and it marks the presented token in the shared ephemeral store, so a retry that
reaches any replica before the background settles it first and is then served as a refresh.
Replay detection is unchanged for every token without such a mark, and only the server writes one.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from idp.storage.ephemeral import EphemeralStore
from idp.storage.sql import SqlStorage

log = logging.getLogger(__name__)

#: How long a rotation that could not be settled at once is tried again in the background, and
#: how long its mark lives.
SETTLE_RETRY_SECONDS = 60
#: The background's pause between attempts: short, as a retry may arrive as soon as the database does.
SETTLE_PAUSE_SECONDS = 0.1
_KIND = "refresh_in_doubt"


class RotationSettlement:
    def __init__(self, storage: SqlStorage, ephemeral: EphemeralStore) -> None:
        self._storage = storage
        self._ephemeral = ephemeral

    def in_doubt(self, presented: str, successor: str, *, database_answers: bool = True) -> None:
        """The rotation of token hash ``presented`` to ``successor`` may have committed without its
        response leaving: settle it now if the database answers, else mark it and keep trying in
        the background. ``database_answers`` False (the claim itself got no answer): no attempt
        now, so the client's 503 is not held for a second statement bound. Never raises (it runs
        while another failure propagates)."""
        if database_answers and self._try_settle(presented, successor):
            return
        self._mark(presented, successor)
        threading.Thread(target=self._settle_later, args=(presented, successor), name="idp-refresh-settle",
                         daemon=True).start()

    def settle_marked(self, presented: str) -> bool:
        """Before a replay of ``presented`` is punished: settle the rotations of it that a replica
        marked in doubt. True when one was undone (the presented token is usable again, so the
        caller claims it afresh). A store that cannot answer reads as no mark: deny by default."""
        try:
            successors = _successors(self._ephemeral.find(_KIND, presented))
        except Exception:
            log.warning("rotations in doubt could not be read; a replay is treated as one")
            return False
        if not successors:
            return False
        undone = False
        for successor in successors:  # the database failing here propagates (503) and keeps the mark
            undone = self._storage.grants.settle_rotation(presented, successor) or undone
        self._ephemeral.destroy(_KIND, presented)
        return undone

    def _mark(self, presented: str, successor: str) -> None:
        try:
            known = _successors(self._ephemeral.find(_KIND, presented))
            self._ephemeral.upsert(_KIND, presented, {"successors": [*known, successor]}, SETTLE_RETRY_SECONDS)
        except Exception:
            log.warning("a rotation in doubt could not be marked; the background settles it")

    def _try_settle(self, presented: str, successor: str) -> bool:
        """One attempt; False when the database could not be reached."""
        try:
            undone = self._storage.grants.settle_rotation(presented, successor)
        except Exception:
            return False
        log.info("a refresh whose response never left was settled (%s)", "undone" if undone else "never committed")
        return True

    def _settle_later(self, presented: str, successor: str) -> None:
        deadline = time.monotonic() + SETTLE_RETRY_SECONDS
        while time.monotonic() < deadline:
            time.sleep(SETTLE_PAUSE_SECONDS)
            if self._try_settle(presented, successor):
                return
        log.error("a refresh whose response never left was not settled: the database did not answer")


def _successors(mark: dict[str, Any] | None) -> list[str]:
    found = (mark or {}).get("successors")
    return [s for s in found if isinstance(s, str)] if isinstance(found, list) else []
