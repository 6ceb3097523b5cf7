"""Long commands say how far they are on stderr: silent when quick, a line every interval after
that and one at the end; ``idp db upgrade`` names each migration it runs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from idp.cli import main
from idp.cli.progress import Progress
from tests.fakes import FakeClock


def test_quiet_when_quick_then_a_line_per_interval() -> None:
    clock, out = FakeClock(100.0), io.StringIO()
    quick = Progress("audit export: events written", stream=out, clock=clock)
    for done in range(1, 1000):
        quick(done)
    quick.finish()
    assert out.getvalue() == ""

    slow = Progress("audit verify: event", stream=out, clock=clock)
    for done in range(1, 11):
        clock.now += 0.5  # 5 s in all: lines at 2 s and 4 s, and the last
        slow(done, 10)
    slow.finish()
    assert out.getvalue().splitlines() == ["idp: audit verify: event 4/10 (2 s)", "idp: audit verify: event 8/10 (4 s)",
                                           "idp: audit verify: event 10/10 (5 s)"]


def test_db_upgrade_names_each_migration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("IDP_DATABASE_URL", raising=False)
    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path / "var"))
    assert main(["db", "upgrade"]) == 0
    captured = capsys.readouterr()
    assert "database schema at revision" in captured.out
    steps = [line for line in captured.err.splitlines() if line.startswith("idp: db upgrade: Running upgrade")]
    assert steps and "-> 0001" in steps[0]
    assert main(["db", "upgrade"]) == 0 and "Running upgrade" not in capsys.readouterr().err  # nothing left to run
