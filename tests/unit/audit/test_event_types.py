"""Every audit event type the code records is a declared one (the console and the SIEM mapping
list them), so a new event cannot slip in under an unknown name."""

from __future__ import annotations

import re
from pathlib import Path

from idp.audit.types import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[3]
LITERAL = re.compile(r'(?:record\(\s*|AuditEvent\(\s*type=|type=)"([a-z]+(?:\.[a-z_]+)+)"')


def test_recorded_types_are_declared() -> None:
    recorded = set()
    for package in ("idp", "adapters", "keys", "policies"):
        for path in (ROOT / package).rglob("*.py"):
            recorded |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
    assert recorded, "the scan found no event types: the pattern is out of date"
    assert sorted(recorded - set(EVENT_TYPES)) == []
