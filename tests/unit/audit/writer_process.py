"""Run as a separate OS process by the concurrency test: append N events to the audit log.

Usage: python -m tests.unit.audit.writer_process <database url> <writer name> <count> <start file> [sequenced]
With ``sequenced``, events are staged unlinked and this process runs a sequencer too.
Creates <start file>.<name>.ready, then waits until <start file> exists, so both writers begin
together. The events go in ROUNDS rounds; a writer begins round k only once the other writer
("a" or "b") has finished round k-1, so the two interleave (at least ROUNDS-1 switches in the
chain, whatever the machine's load) while each round still runs at once with the other's.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from idp.audit.events import AuditEvent
from idp.audit.sequencer import start_sequencer
from idp.audit.sql import SqlAuditLog
from idp.storage.sql import SqlStorage

ROUNDS = 4


def _wait_for(path: Path, deadline: float) -> None:
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {path.name}")
        time.sleep(0.002)


def main(url: str, name: str, count: int, start_file: str, mode: str = "inline") -> None:
    storage = SqlStorage.open(url)
    log = SqlAuditLog(storage.db)
    sequencer = start_sequencer(log, interval=0.05) if mode == "sequenced" else None
    storage.db.ping()
    Path(f"{start_file}.{name}.ready").touch()
    deadline = time.monotonic() + 60
    _wait_for(Path(start_file), deadline)
    other = "b" if name == "a" else "a"
    per_round = -(-count // ROUNDS)
    for n in range(count):
        round_, first_of_round = divmod(n, per_round)
        if first_of_round == 0 and round_ > 0:
            Path(f"{start_file}.{name}.{round_ - 1}").touch()
            _wait_for(Path(f"{start_file}.{other}.{round_ - 1}"), deadline)
        log.record(AuditEvent(type="signin", username=f"{name}-{n}", details={"writer": name}))
        if n % 10 == 0:
            time.sleep(0.002)  # sign-ins arrive spaced out; lets the other writer take the lock too
    Path(f"{start_file}.{name}.{ROUNDS - 1}").touch()
    if sequencer is not None:
        sequencer.stop()
    storage.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], *sys.argv[5:6])
