"""Policy documents: validation with file/line/field, deny by default, the default document."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.document import DENY_ALL, PolicyError, parse_policy
from policies.engine import evaluate
from policies.loa import Level
from policies.outcome import Deny
from policies.policy_set import EXAMPLES_DIR, PolicySet
from tests.unit.policies.builders import request, signed_in

BAD_FIXTURES = Path(__file__).resolve().parents[2] / "data" / "policies" / "invalid"


def test_the_shipped_examples_are_valid() -> None:
    policies = PolicySet.load(EXAMPLES_DIR)
    tax = policies.for_client("tax-filing")
    assert tax.minimum_acr == Level.VNEID_L2
    assert tax.step_up[0].scope == "tax:submit" and tax.step_up[0].acr == Level.PKI_HW
    assert "vn_id" in tax.scopes
    assert "vn_id" not in policies.for_client("library-catalogue").scopes
    assert tax.source.endswith("tax-filing.yaml") and len(tax.digest) == 64
    assert policies.for_client("case-files").mfa_required_roles == ("leader", "auditor")


def test_a_client_without_a_document_gets_default_yaml() -> None:
    policies = PolicySet.load(EXAMPLES_DIR)
    assert policies.for_client("some-other-service").source.endswith("default.yaml")
    assert not policies.has_own_policy("some-other-service")


def test_a_folder_without_default_yaml_refuses_unknown_clients(tmp_path: Path) -> None:
    (tmp_path / "tax-filing.yaml").write_text((EXAMPLES_DIR / "tax-filing.yaml").read_text())
    policies = PolicySet.load(tmp_path)
    other = policies.for_client("unknown")
    assert other is DENY_ALL
    outcome = evaluate(request(other), signed_in(Level.PKI_HW, "pki"))
    assert isinstance(outcome, Deny) and outcome.error == "access_denied"


def test_an_empty_policy_denies_everything() -> None:
    empty = parse_policy("version: 1\n", "default.yaml")
    assert empty.adapters == () and empty.scopes == () and empty.allowed_scopes == {"openid"}
    assert empty.subject_type == "pairwise"


def test_the_builtin_policy_allows_local_accounts_only() -> None:
    builtin = PolicySet.from_folder_or_builtin(None).for_client("anything")
    assert builtin.adapters == ("local",)
    assert not set(builtin.scopes) & {"vn_id", "vn_eid", "vn_org", "vn_official", "vn_cert"}


@pytest.mark.parametrize(("text", "line", "field", "message"), [
    ("version: 1\nadapter: [local]\n", 2, "adapter", "unknown field"),
    ("version: 1\nminimum_acr: vneid-level2\n", 2, "minimum_acr", "unknown acr 'vneid-level2'"),
    ("version: 1\nscopes: [openid, 'tax:submit']\nstep_up:\n  - scope: 'tax:submit'\n"
     "    acr: pki-hardware\n    within_seconds: 300\n", 5, "step_up[0].acr", "unknown acr"),
    ("version: 1\nscopes: [openid]\nstep_up:\n  - scope: 'tax:submit'\n    acr: pki-hw\n"
     "    within_seconds: 300\n", 4, "step_up[0].scope", "does not allow"),
    ("version: 1\nminimum_acr: vneid-l2\nscopes: [a]\nstep_up:\n  - {scope: a, acr: local-mfa, within_seconds: 9}\n",
     5, "step_up[0].acr", "less than minimum_acr"),
    ("version: 1\nmax_age: soon\n", 2, "max_age", "integer"),
    ("version: 1\nsubject_type: random\n", 2, "subject_type", "pairwise"),
    ("version: 1\nwithheld_claims:\n  - name\n  - vn_cccd\n", 4, "withheld_claims[1]", "unknown claim"),
    ("version: 1\nadapters: [local, 'bad id']\n", 2, "adapters[1]", "not an adapter id"),
    ("version: 1\nadapters: [local, local]\n", 2, "adapters", "listed twice"),
    ("adapters: [local]\n", 1, "version", "required field is missing"),
    ("version: 2\n", 1, "version", "Input should be 1"),
])
def test_an_invalid_document_names_file_line_and_field(text: str, line: int, field: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policies/tax-filing.yaml", expected_client_id=None)
    error = caught.value
    assert (error.source, error.line, error.field) == ("policies/tax-filing.yaml", line, field)
    assert message in error.reason
    assert str(error).startswith(f"invalid policy policies/tax-filing.yaml, line {line}, field {field}: ")


@pytest.mark.parametrize(("text", "line", "message"), [
    ("version: 1\nadapters: [local]\nadapters: [vneid, pki]\n", 3, "written twice"),
    ("version: 1\nscopes: &s [openid]\nwithheld_claims: *s\n", 3, "aliases are not allowed"),
    ("version: 1\nscopes: [openid\n", 3, "not valid YAML"),
    ("", 1, "empty document"),
    ("- version: 1\n", 1, "must be a mapping"),
])
def test_unacceptable_yaml_is_refused_with_its_line(text: str, line: int, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "default.yaml")
    assert caught.value.line == line and message in caught.value.reason


@pytest.mark.parametrize("text", ["\x00", "version: 1\ndescription: \x8c\n"])
def test_a_character_yaml_does_not_allow_is_a_policy_error(text: str) -> None:
    with pytest.raises(PolicyError) as caught:  # was a yaml ReaderError (a 500 at the admin API)
        parse_policy(text, "default.yaml")
    assert "not valid YAML" in caught.value.reason


def test_client_id_must_match_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "tax-filing.yaml").write_text("version: 1\nclient_id: library-catalogue\n")
    with pytest.raises(PolicyError, match=r"tax-filing.yaml, line 2, field client_id: must be 'tax-filing'"):
        PolicySet.load(tmp_path)


def test_an_adapter_that_is_not_configured_is_refused_when_adapters_are_known(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text("version: 1\nadapters:\n  - local\n  - vneid\n")
    assert PolicySet.load(tmp_path, known_adapters={"local", "vneid"}).default.adapters == ("local", "vneid")
    with pytest.raises(PolicyError, match=r"line 4, field adapters\[1\]: no adapter 'vneid' is configured"):
        PolicySet.load(tmp_path, known_adapters={"local"})


def test_a_yml_file_is_refused_rather_than_ignored(tmp_path: Path) -> None:
    (tmp_path / "tax-filing.yml").write_text("version: 1\n")
    with pytest.raises(PolicyError, match="rename it"):
        PolicySet.load(tmp_path)


def test_the_first_invalid_file_of_a_folder_stops_loading() -> None:
    with pytest.raises(PolicyError, match=r"invalid/tax-filing.yaml, line \d+, field minimum_acr"):
        PolicySet.load(BAD_FIXTURES)


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not a folder"):
        PolicySet.load(tmp_path / "nope")
