"""``idp serve`` with a broken certificate trust file stops before serving, with one line naming the
file, the line and the field (never a stack trace)."""

from __future__ import annotations

from pathlib import Path

from tests.functional.helpers import free_port, run_idp


def test_a_broken_trust_file_stops_serve_with_one_line(tmp_path: Path) -> None:
    trust = tmp_path / "trust.yaml"
    trust.write_text("version: 1\npurposes:\n  sign_in:\n    roots: [nowhere.pem]\n", encoding="utf-8")
    result = run_idp(["serve", "--port", str(free_port())],
                     {"IDP_DATA_DIR": str(tmp_path / "var"), "IDP_TRUST_FILE": str(trust)})
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == (f"idp: invalid trust file {trust}, line 4, field purposes.sign_in.roots[0]: "
                    "cannot read nowhere.pem: No such file or directory")
    assert "Traceback" not in result.stderr
