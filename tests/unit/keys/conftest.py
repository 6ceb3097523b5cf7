"""Fixtures of the signing-key tests: settings, an audit log that remembers, SoftHSM2."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from idp.audit.events import AuditEvent
from idp.settings import Settings
from idp.storage.sql import SqlStorage
from tests.unit.keys.softhsm import softhsm  # noqa: F401 - fixture


class RecordingAuditLog:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    def types(self) -> list[str]:
        return [e.type for e in self.events]


@pytest.fixture
def audit() -> RecordingAuditLog:
    return RecordingAuditLog()


@pytest.fixture
def key_settings(tmp_path: Path) -> Settings:
    """Embedded-default settings with ES256 only (RSA generation is slower)."""
    return Settings(data_dir=tmp_path / "var", signing_algorithms=["ES256"])


def make_older(storage: SqlStorage, kid: str, seconds: float) -> None:
    """Pretend ``kid`` was created (and retired) ``seconds`` earlier than recorded."""
    delta = timedelta(seconds=seconds)
    storage.keys.update(kid, lambda r: r.replace(
        created_at=r.created_at - delta,
        retired_at=r.retired_at - delta if r.retired_at else None,
    ))
