"""``idp trust check|list``: a valid file is summarised, a broken one is one line naming its line."""

from __future__ import annotations

import json

import pytest

from idp.cli import main
from tests.unit.pki.support import TestPki, test_pki, test_pki_server  # noqa: F401 - fixtures


def test_check_and_list(test_pki: TestPki, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    path = test_pki.trust_file()
    assert main(["trust", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "is valid" in out and "sign_in: 3 root(s), 3 intermediate(s), revocation hard-fail" in out
    assert main(["trust", "list", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["purpose"], r["role"]) for r in rows} == {
        ("sign_in", "root"), ("sign_in", "intermediate"), ("documents", "root"), ("documents", "intermediate")}
    assert any("Vietnam National Root CA G2" in r["subject"] for r in rows)


def test_check_reports_the_line(test_pki: TestPki, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    test_pki.trust_file()
    broken = test_pki.directory / "broken.yaml"
    broken.write_text("version: 1\npurposes:\n  documents:\n    roots: [nowhere.pem]\n", encoding="utf-8")
    assert main(["trust", "check", str(broken)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("idp: invalid trust file") and "line 4, field purposes.documents.roots[0]" in err
    assert err.count("\n") == 0
