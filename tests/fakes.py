"""Small stand-ins for unit-level tests of one component (the real audit log and clock are used
everywhere a flow is tested end to end)."""

from __future__ import annotations

from idp.audit.events import AuditEvent


class RecordingAudit:
    """An AuditLog that keeps events in a list, to assert what a component recorded."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)


class FakeClock:
    """A clock the test moves by hand (``clock.now += 30``)."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
