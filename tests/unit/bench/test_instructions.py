"""bench/instructions.py: the figures it reads from callgrind's dumps and compares."""

from __future__ import annotations

import json
from pathlib import Path

from bench.instructions import UNITS_PER_COUNT, WORKLOADS, dumped_total, main_compare


def test_dumped_total_counts_only_the_new_dumps(tmp_path: Path) -> None:
    old = tmp_path / "callgrind.out.7.1"
    old.write_text("events: Ir\nsummary: 999\n")
    seen = {old}
    (tmp_path / "callgrind.out.7.2").write_text("cmd: python\nevents: Ir\nsummary: 1200\ntotals: 1200\n")
    (tmp_path / "server.log").write_text("summary: 5\n")
    assert dumped_total(tmp_path, seen) == 1200


def test_every_workload_has_its_units() -> None:
    assert set(UNITS_PER_COUNT) == set(WORKLOADS)


def test_compare_prints_the_ratio(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_text(json.dumps({"workloads": {"sign_in": {"per_unit": 10e6}}}))
    after.write_text(json.dumps({"workloads": {"sign_in": {"per_unit": 10.3e6}}}))
    main_compare(str(before), str(after))
    assert "| sign_in | 10.00 | 10.30 | 1.030 |" in capsys.readouterr().out
