"""Walking the hash chain and its signed checkpoints (``idp audit verify``).

The walk reads events in sequence order in short batches (so SQLite writers are not held up, and
memory stays flat over millions of events; :mod:`idp.audit.reading`), every event present up to
the newest one seen when it started, and stops at the first problem:

- a missing sequence number (``removed``), also at the tail (the head or a checkpoint is ahead
  of the last event);
- a chain head whose hash differs from the event at its sequence number (``altered``);
- a row whose hash does not recompute: ``reordered`` when its ``prev_hash`` also points
  elsewhere (it came from another position), ``altered`` otherwise;
- a row whose hash recomputes but does not match the next row's ``prev_hash`` (the row was
  rewritten with a recomputed hash): ``altered``;
- a checkpoint (in ``audit_checkpoints`` or in its event's row) whose signature does not verify,
  or whose hash differs from the event's: the events after the previous good checkpoint were
  rewritten;
- a prune horizon that no recorded ``idp audit prune`` explains;
- with an external copy of the checkpoints (:mod:`idp.audit.external`, ``--checkpoints FILE``): a
  checkpoint of the copy whose seq the database no longer reaches (``removed``) or whose hash
  differs from the database's event there (``altered``, from the last checkpoint that agreed).

Which keys may sign a checkpoint is the caller's ``verify``: keys pinned outside the database
(:mod:`idp.audit.trust`), never whatever ``signing_keys`` holds.

The head row is moved at most once per ``IDP_AUDIT_HEAD_INTERVAL_SECONDS`` (and at every signed
checkpoint, see :mod:`idp.audit.sql`), so events newer than the head are normal: they are verified
by their hash links like any other. Removing the newest events written since the head last moved
is therefore not detected from the head (it never was against someone who also rewrites the
unsigned head); the signed checkpoints remain the anchor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from idp.audit.chain import GENESIS, row_hash
from idp.audit.checkpoints import StoredCheckpoint, Verify, check_claims
from idp.audit.external import ExternalCheckpoint, ExternalCopyInvalid
from idp.audit.reading import pages
from idp.audit.sequencer import oldest_unlinked
from idp.audit.sql import read_head
from idp.audit.types import ADMIN_ACTION, PRUNE_ACTION
from idp.storage.db import Database
from idp.storage.schema import audit_checkpoints, audit_events

BATCH = 2000


@dataclass(frozen=True)
class ChainProblem:
    """The first sequence number found altered, removed or reordered, and why."""

    seq: int
    kind: str  # altered | removed | reordered | unlinked (seq 0: events waiting too long to be linked)
    reason: str

    def __str__(self) -> str:
        if self.kind == "unlinked":
            return f"nhật ký kiểm toán có sự kiện chưa được liên kết / audit log unlinked: {self.reason}"
        words = {"altered": "bị sửa", "removed": "bị xoá", "reordered": "bị đổi thứ tự"}
        return (f"nhật ký kiểm toán {words.get(self.kind, self.kind)} tại seq {self.seq} / "
                f"audit log {self.kind} at seq {self.seq}: {self.reason}")


@dataclass(frozen=True)
class VerifyReport:
    events: int
    first_seq: int | None
    last_seq: int
    checkpoints: int
    signatures_checked: bool
    problem: ChainProblem | None
    external_checked: int = 0  # checkpoints of the external copy found in agreement

    @property
    def ok(self) -> bool:
        return self.problem is None


def iter_events(db: Database, after: int, through: int | None, batch: int = BATCH) -> Iterator[dict[str, Any]]:
    """Events with ``after < seq <= through`` in order, read in pages of ``batch``
    (:func:`idp.audit.reading.pages`: short reads, the next one under way while this one is checked)."""
    query = select(audit_events)
    if through is not None:
        query = query.where(audit_events.c.seq <= through)
    for page in pages(db, query, after=after, batch=batch):
        yield from page


def verify_chain(db: Database, verify: Verify | None = None, external: Sequence[ExternalCheckpoint] = (),
                 progress: Callable[[int, int], None] | None = None, *,
                 link_alarm_seconds: float | None = None, batch: int = BATCH) -> VerifyReport:
    """Check the whole remaining log; ``verify(token) -> claims`` checks checkpoint signatures (those
    of ``external`` too: :class:`ExternalCopyInvalid` when one of them does not verify).
    ``progress(seq, newest seq)`` is called after each event. With ``link_alarm_seconds``, an
    intact chain still fails (``unlinked``) when an event has waited longer than that in
    ``audit_pending`` (see :mod:`idp.audit.sequencer`). Events are read ``batch`` at a time: memory
    stays the same whatever the length of the log."""
    if verify is not None:
        check_external(external, verify)
    with db.connect() as conn:
        # Checkpoints and the head first: each is written in the transaction of an event it names,
        # so the newest seq, read last, is never behind them (no false "beyond the last event").
        checkpoints = {int(r.seq): r for r in conn.execute(select(audit_checkpoints))}
        head = read_head(conn)
        newest = conn.execute(select(func.max(audit_events.c.seq))).scalar()
    head_seq, head_hash, pruned = head or (0, GENESIS, 0)
    walk = _Walk(pruned, checkpoints, verify, head_seq)
    for cp in external:
        walk.external.setdefault(cp.seq, set()).add(cp.hash)
    problem = walk.anchor()
    if problem is None and newest is not None:
        for row in iter_events(db, 0, int(newest), batch):
            problem = walk.step(row)
            if problem:
                break
            if progress is not None:
                progress(int(row["seq"]), int(newest))
    if problem is None and head is None and walk.count:
        problem = ChainProblem(walk.expected - 1, "altered", "the chain head row is missing")
    if problem is None:
        problem = walk.finish(head_seq, head_hash)
    if problem is None and link_alarm_seconds is not None:
        problem = unlinked_problem(db, link_alarm_seconds)
    return VerifyReport(walk.count, walk.first, walk.expected - 1, walk.checkpoints_seen, verify is not None,
                        problem, walk.external_seen)


def unlinked_problem(db: Database, alarm_seconds: float, now: datetime | None = None) -> ChainProblem | None:
    """An ``unlinked`` problem when an event has waited longer than ``alarm_seconds`` to be linked."""
    count, oldest = oldest_unlinked(db)
    if oldest is None:
        return None
    waited = ((now or datetime.now(UTC)) - oldest).total_seconds()
    if waited <= alarm_seconds:
        return None
    return ChainProblem(0, "unlinked", f"{count} event(s) not linked into the chain, the oldest for {int(waited)} s "
                                       f"(IDP_AUDIT_LINK_ALARM_SECONDS={alarm_seconds:g}): is a sequencer running?")


def check_external(external: Sequence[ExternalCheckpoint], verify: Verify) -> None:
    """Every checkpoint of the external copy must carry a good signature for its seq and hash."""
    for cp in external:
        try:
            why = check_claims(verify(cp.signature), cp.seq, cp.hash)
        except Exception as exc:  # noqa: BLE001 - any verification failure makes the copy unusable
            why = f"signature invalid ({exc})"
        if why:
            raise ExternalCopyInvalid(f"bản sao điểm kiểm tra không hợp lệ / the external checkpoint copy is not "
                                      f"usable: line {cp.line}, checkpoint {cp.seq}: {why}")


class _Walk:
    def __init__(self, pruned: int, checkpoints: dict[int, Any], verify: Verify | None, head_seq: int) -> None:
        self.pruned = pruned
        self.head_seq = head_seq
        self.hash_at_head: str | None = None  # the chain hash at the head's seq, once walked past it
        self.checkpoints = checkpoints
        self.verify = verify
        self.expected = pruned + 1
        self.prev_hash = GENESIS
        self.last_good_checkpoint = pruned
        self.prune_through = 0
        self.count = 0
        self.first: int | None = None
        self.checkpoints_seen = 0
        self.external: dict[int, set[str]] = {}  # seq -> hashes the external copy signs there
        self.external_seen = 0

    def anchor(self) -> ChainProblem | None:
        if self.pruned == 0:
            return None
        cp = self.checkpoints.get(self.pruned)
        if cp is None:
            return ChainProblem(self.pruned, "removed", "the checkpoint the log was pruned at is missing")
        problem = self._signature(cp)
        if problem:
            return problem
        self.prev_hash = cp.hash
        if self.head_seq == self.pruned:
            self.hash_at_head = cp.hash
        self.checkpoints_seen += 1
        return self._external(self.pruned, cp.hash)

    def step(self, row: Any) -> ChainProblem | None:
        seq = int(row["seq"])
        if seq < self.expected:
            return ChainProblem(seq, "altered", f"event older than the prune horizon {self.pruned}")
        if seq > self.expected:
            return ChainProblem(self.expected, "removed", f"next event found is seq {seq}")
        if row_hash(row) != row["hash"]:
            if row["prev_hash"] != self.prev_hash:
                return ChainProblem(seq, "reordered", "event does not belong at this position")
            return ChainProblem(seq, "altered", "content does not match its hash")
        if row["prev_hash"] != self.prev_hash:
            if self.count == 0:
                return ChainProblem(seq, "altered", "does not continue from the chain's anchor")
            return ChainProblem(seq - 1, "altered", "hash rewritten: the next event does not link to it")
        self._note_prune(row)
        self.count += 1
        self.first = seq if self.first is None else self.first
        self.prev_hash = row["hash"]
        if seq == self.head_seq:
            self.hash_at_head = self.prev_hash
        self.expected += 1
        for cp in self._checkpoints_at(row):
            problem = self._checkpoint(cp)
            if problem:
                return problem
        return self._external(seq, self.prev_hash)

    def _external(self, seq: int, chain_hash: str) -> ChainProblem | None:
        """Compare with the external copy's checkpoint at ``seq``, if it has one."""
        hashes = self.external.get(seq)
        if hashes is None:
            return None
        if hashes != {chain_hash}:
            start = self.last_good_checkpoint + 1 if seq > self.pruned else seq
            return ChainProblem(start, "altered", f"checkpoint {seq} of the external copy differs from the "
                                                  f"database: events {start}..{seq} were rewritten")
        self.last_good_checkpoint = max(self.last_good_checkpoint, seq)
        self.external_seen += 1
        return None

    def _checkpoints_at(self, row: Any) -> list[Any]:
        """The checkpoints of this event: in ``audit_checkpoints`` and in its own row."""
        found = [self.checkpoints[row["seq"]]] if row["seq"] in self.checkpoints else []
        if row.get("checkpoint") is not None:
            found.append(StoredCheckpoint(int(row["seq"]), str(row["hash"]), str(row["checkpoint"]), True))
        return found

    def _note_prune(self, row: Any) -> None:
        details = row["details"] or {}
        if row["type"] == ADMIN_ACTION and details.get("action") == PRUNE_ACTION:
            through = details.get("through_seq")
            if isinstance(through, int):
                self.prune_through = max(self.prune_through, through)

    def _checkpoint(self, cp: Any) -> ChainProblem | None:
        problem = self._signature(cp)
        if problem:
            return problem
        if cp.hash != self.prev_hash:
            start = self.last_good_checkpoint + 1
            return ChainProblem(start, "altered",
                                f"events {start}..{cp.seq} were rewritten (signed checkpoint differs)")
        self.last_good_checkpoint = int(cp.seq)
        self.checkpoints_seen += 1
        return None

    def _signature(self, cp: Any) -> ChainProblem | None:
        if self.verify is None:
            return None
        start = self.last_good_checkpoint + 1 if int(cp.seq) > self.pruned else int(cp.seq)
        try:
            claims = self.verify(cp.signature)
        except Exception as exc:  # noqa: BLE001 - any verification failure is a broken checkpoint
            return ChainProblem(start, "altered", f"checkpoint {cp.seq}: signature invalid ({exc})")
        why = check_claims(claims, int(cp.seq), cp.hash)
        return ChainProblem(start, "altered", f"checkpoint {cp.seq}: {why}") if why else None

    def finish(self, head_seq: int, head_hash: str) -> ChainProblem | None:
        if self.expected <= head_seq:
            return ChainProblem(self.expected, "removed", f"the chain head says seq {head_seq} exists")
        if self.hash_at_head is not None and head_hash != self.hash_at_head:
            return ChainProblem(head_seq, "altered", "the chain head's hash differs")
        beyond = [s for s in self.checkpoints if s >= self.expected]
        if beyond:
            return ChainProblem(self.expected, "removed", f"checkpoint {min(beyond)} is beyond the last event")
        missing = [s for s in self.external if s >= self.expected]
        if missing:
            return ChainProblem(self.expected, "removed", f"checkpoint {min(missing)} of the external copy is "
                                                          "missing from the database: events were removed")
        if self.pruned and self.prune_through != self.pruned:
            start = self.prune_through + 1 if self.prune_through < self.pruned else self.pruned
            return ChainProblem(start, "removed", "events were removed without `idp audit prune`")
        return None
