"""The trust file: read per purpose, and every mistake named by file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.pki.trust import TrustConfigError, parse_trust, read_trust_file
from tests.unit.pki.support import TestPki


def test_a_generated_trust_file_reads(test_pki: TestPki) -> None:
    trust = read_trust_file(test_pki.trust_file())
    sign_in = trust.get("sign_in")
    assert sign_in is not None and len(sign_in.roots) == 3 and len(sign_in.intermediates) == 3
    assert trust.acrs("documents") == {"pki-hw", "pki-remote"}
    assert sign_in.acr_for(("1.3.6.1.4.1.61234.1.2", "1.3.6.1.4.1.61234.1.1")) == "pki-hw"


@pytest.mark.parametrize(("text", "line", "field", "words"), [
    ("version: 1\npurposes:\n  sign_in:\n    roots: [national-root-g2.pem]\n    revocaton: {}\n", 5,
     "purposes.sign_in.revocaton", "unknown field"),
    ("version: 1\npurposes:\n  sign_in:\n    roots: [national-root-g2.pem, missing.pem]\n", 4,
     "purposes.sign_in.roots[1]", "cannot read missing.pem"),
    ("version: 1\npurposes:\n  sign_in:\n    roots: [vnpt-ca.pem]\n", 4,
     "purposes.sign_in.roots[0]", "not self-issued"),
    ("version: 1\npurposes:\n  sign_in:\n    roots: [national-root-g2.pem]\n    policies:\n      \"1.2.x\": pki-hw\n",
     6, "purposes.sign_in.policies.1.2.x", "not a dotted object identifier"),
    ("version: 1\npurposes:\n  sign_in:\n    roots: [national-root-g2.pem]\n    policies:\n      \"1.2.3\": pki-max\n",
     6, "purposes.sign_in.policies.1.2.3", "pki-hw"),
    ("version: 1\npurposes:\n  signing:\n    roots: [national-root-g2.pem]\n", 3, "purposes.signing", "sign_in"),
    ("version: 1\npurposes:\n  sign_in:\n    roots: [national-root-g2.pem]\n    revocation: {mode: never}\n", 5,
     "purposes.sign_in.revocation.mode", "hard-fail"),
])
def test_mistakes_name_file_line_and_field(test_pki: TestPki, text: str, line: int, field: str, words: str) -> None:
    test_pki.trust_file()  # writes the PEM files next to it
    with pytest.raises(TrustConfigError) as caught:
        parse_trust(text, "trust.yaml", test_pki.directory)
    message = str(caught.value)
    assert message.startswith(f"invalid trust file trust.yaml, line {line}, field {field}: "), message
    assert words in message


def test_a_leaf_certificate_is_no_root(test_pki: TestPki, tmp_path: Path) -> None:
    (tmp_path / "leaf.pem").write_bytes(test_pki["citizen"].pem)
    with pytest.raises(TrustConfigError, match="not a CA certificate"):
        parse_trust("version: 1\npurposes:\n  documents:\n    roots: [leaf.pem]\n", "t.yaml", tmp_path)
