"""``idp report`` on a generated month of sign-ins in a real audit trail: exact counts per service and
commune for operators, and the open-data CSV with every figure resting on fewer than 10 people
suppressed (complementary cells too); units come from a CSV file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from idp.audit.events import AuditEvent
from idp.audit.sql import SqlAuditLog
from idp.cli import main
from idp.reports.signins import VIETNAM
from idp.runtime import open_storage
from idp.settings import load_settings

ISSUER = "http://127.0.0.1:8000"
# The provider's adapters: VNeID federates (type vneid); the portal and local accounts do not count as it.
ADAPTERS = """adapters:
  - {id: local, type: local}
  - {id: vneid, type: vneid, version: 1, base_url: "https://vneid.example.vn", client_id: tinh, client_secret: s}
  - {id: dvcqg, type: dvcqg, version: 1, base_url: "https://sso.example.vn", client_id: tinh, client_secret: s}
"""
UNITS = "unit_code,unit_name,client_id\n20194,Phường Hồng Gai,motcua-a\n22855,Xã Cô Tô,motcua-b\n"


def signin(person: str, client: str | None, adapter: str, level: str, outcome: str = "success") -> AuditEvent:
    return AuditEvent(type="signin", outcome=outcome, subject=person, client_id=client, adapter=adapter,
                      acr=f"{ISSUER}/acr/{level}")


def generated_month() -> list[AuditEvent]:
    events = []
    for n in range(12):  # motcua-a: 12 people with VNeID level 2, twice each
        events += [signin(f"a-vneid-{n}", "motcua-a", "vneid", "vneid-l2")] * 2
    events += [signin(f"a-portal-{n}", "motcua-a", "dvcqg", "vneid-l1") for n in range(10)]
    events += [signin(f"a-local-{n}", "motcua-a", "local", "local-basic") for n in range(3)]
    events.append(signin("a-vneid-0", "motcua-a", "local", "local-basic"))  # highest stays vneid-l2
    events += [signin(f"b-{n}", "motcua-b", "vneid", "vneid-l2") for n in range(5)]  # a small commune
    events += [signin(f"p-{n}", "portal", "local", "local-mfa") for n in range(10)]  # provincial service
    events += [signin("a-local-0", "motcua-a", "local", "local-basic", outcome="failure"),
               signin("x", None, "local", "local-basic"),  # the provider's own pages
               AuditEvent(type="token.issued", subject="a-vneid-1", client_id="motcua-a")]
    return events


@pytest.fixture
def month(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("IDP_DATABASE_URL", "IDP_ADAPTERS_FILE", "IDP_ISSUER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path / "var"))
    (tmp_path / "adapters.yaml").write_text(ADAPTERS, encoding="utf-8")
    monkeypatch.setenv("IDP_ADAPTERS_FILE", str(tmp_path / "adapters.yaml"))
    storage = open_storage(load_settings())
    try:
        rows = [SqlAuditLog(storage.db).append(event) for event in generated_month()]
    finally:
        storage.close()
    return str(rows[0]["occurred_at"].astimezone(VIETNAM).strftime("%Y-%m"))  # the month in Vietnam's time


def run_report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_exact_counts_per_service_and_commune(month: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    units = tmp_path / "units.csv"
    units.write_text(UNITS, encoding="utf-8")
    code, out, err = run_report(capsys, "--month", month, "--units", str(units))
    assert code == 0, err
    rows = {row["service"]: row for row in json.loads(out)["rows"]}
    assert set(rows) == {"motcua-a", "motcua-b", "portal"}
    a = rows["motcua-a"]
    assert (a["unit_code"], a["unit_name"]) == ("20194", "Phường Hồng Gai")
    assert a["signins"] == 24 + 10 + 3 + 1 and a["people"] == 25
    assert a["people_by_highest_level"] == {"vneid-l2": 12, "vneid-l1": 10, "local-basic": 3}
    cells = {(c["method"], c["level"]): (c["signins"], c["people"]) for c in a["signins_by_method_and_level"]}
    assert cells == {("vneid", "vneid-l2"): (24, 12), ("dvcqg", "vneid-l1"): (10, 10),
                     ("local", "local-basic"): (4, 4)}
    assert a["vneid_share"] == round(24 / 38, 4)
    assert rows["portal"]["unit_code"] == "" and rows["portal"]["vneid_share"] == 0.0


def test_open_data_csv_suppresses_small_counts(month: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    units = tmp_path / "units.csv"
    units.write_text(UNITS, encoding="utf-8")
    code, out, err = run_report(capsys, "--month", month, "--units", str(units), "--csv", "-")
    assert code == 0, err
    lines = list(csv.DictReader(io.StringIO(out)))
    figure = {(r["service"], r["figure"], r["method"], r["level"]): (r["value"], r["suppressed"]) for r in lines}
    assert figure["motcua-a", "signins", "", ""] == ("38", "0")
    assert figure["motcua-a", "signins", "vneid", "vneid-l2"] == ("24", "0")
    assert figure["motcua-a", "signins", "local", "local-basic"] == ("", "1")  # 4 people
    assert figure["motcua-a", "signins", "dvcqg", "vneid-l1"] == ("", "1")  # else 38 - 24 - 10 gives it away
    assert figure["motcua-a", "people_by_highest_level", "", "vneid-l2"] == ("12", "0")
    assert figure["motcua-a", "people_by_highest_level", "", "local-basic"] == ("", "1")
    assert figure["motcua-a", "people_by_highest_level", "", "vneid-l1"] == ("", "1")
    assert {v for k, v in figure.items() if k[0] == "motcua-b"} == {("", "1")}  # 5 people: nothing published
    assert figure["portal", "people", "", ""] == ("10", "0")
    for row in lines:  # no published figure rests on fewer than 10 people
        if row["suppressed"] == "0" and row["figure"] in ("people", "people_by_highest_level"):
            assert int(row["value"]) >= 10


def test_vneid_share_counts_the_adapters_of_type_vneid(month: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("IDP_ADAPTERS_FILE")  # the default: local accounts only, nothing is VNeID
    code, out, _ = run_report(capsys, "--month", month)
    assert code == 0
    assert {row["service"]: row["vneid_share"] for row in json.loads(out)["rows"]}["motcua-a"] == 0.0


def test_bad_input_gets_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_report(capsys, "--month", "2026-13")[0] == 1
    units = tmp_path / "units.csv"
    units.write_text("unit_code,unit_name,client_id\n20194,,motcua-a\n", encoding="utf-8")
    code, _, err = run_report(capsys, "--month", "2026-11", "--units", str(units))
    assert code == 1 and "line 2" in err
