"""Run as a separate OS process by the concurrency test: append N events to the audit log.

Usage: python -m tests.unit.audit.writer_process <database url> <writer name> <count> <start file> [sequenced]
With ``sequenced``, events are staged unlinked and this process runs a sequencer too.
Creates <start file>.<name>.ready, then waits until <start file> exists, so both writers begin
together.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from idp.audit.events import AuditEvent
from idp.audit.sequencer import start_sequencer
from idp.audit.sql import SqlAuditLog
from idp.storage.sql import SqlStorage


def main(url: str, name: str, count: int, start_file: str, mode: str = "inline") -> None:
    storage = SqlStorage.open(url)
    log = SqlAuditLog(storage.db)
    sequencer = start_sequencer(log, interval=0.05) if mode == "sequenced" else None
    storage.db.ping()
    Path(f"{start_file}.{name}.ready").touch()
    deadline = time.monotonic() + 30
    while not Path(start_file).exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    for n in range(count):
        log.record(AuditEvent(type="signin", username=f"{name}-{n}", details={"writer": name}))
        if n % 10 == 0:
            time.sleep(0.002)  # sign-ins arrive spaced out; lets the other writer take the lock too
    if sequencer is not None:
        sequencer.stop()
    storage.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], *sys.argv[5:6])
