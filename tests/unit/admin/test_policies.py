"""Activating a policy version and rolling back: the folder is the truth, the replaced version is
kept on a stack, a refused document or rollback changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.admin.policies import PolicyChangeRefused, PolicyVersions
from policies.document import PolicyError
from policies.policy_set import BUILTIN_DEFAULT, PolicySet

PORTAL_V1 = "version: 1\nclient_id: portal\nadapters: [local]\nscopes: [profile]\n"
PORTAL_V2 = "version: 1\nclient_id: portal\nadapters: [local]\nscopes: [profile, email]\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "default.yaml").write_text(BUILTIN_DEFAULT.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def versions(folder: Path | None) -> PolicyVersions:
    return PolicyVersions(folder, known_adapters=frozenset({"local"}))


def test_activate_then_roll_back_to_each_earlier_version(folder: Path) -> None:
    first = versions(folder).activate("portal", PORTAL_V1)
    assert first.before is None and PolicySet.load(folder).for_client("portal").scopes == ("profile",)
    second = versions(folder).activate("portal", PORTAL_V2)
    assert second.before == first.after and "email" in PolicySet.load(folder).for_client("portal").scopes
    back = versions(folder).roll_back("portal")
    assert back.before == second.after and back.after == first.after
    assert PolicySet.load(folder).for_client("portal").scopes == ("profile",)
    gone = versions(folder).roll_back("portal")  # before the first activation it had no document
    assert gone.after is None and not PolicySet.load(folder).has_own_policy("portal")
    with pytest.raises(PolicyChangeRefused, match="no earlier version"):
        versions(folder).roll_back("portal")


def test_an_invalid_document_changes_nothing(folder: Path) -> None:
    versions(folder).activate("portal", PORTAL_V1)
    before = sorted(p.name for p in folder.rglob("*"))
    for name, text in (("portal", "version: 1\nclient_id: portal\nadapters: [nowhere]\n"),
                       ("portal", "version: 1\nclient_id: other\n"), ("portal", "\x00")):
        with pytest.raises(PolicyError):
            versions(folder).activate(name, text)
    for name in ("../etc", ".history", "a/b", ""):
        with pytest.raises(PolicyChangeRefused):
            versions(folder).activate(name, PORTAL_V1)
    assert sorted(p.name for p in folder.rglob("*")) == before
    assert PolicySet.load(folder).for_client("portal").scopes == ("profile",)


def test_the_builtin_policy_cannot_be_changed() -> None:
    with pytest.raises(PolicyChangeRefused, match="IDP_POLICIES_DIR"):
        versions(None).activate("portal", PORTAL_V1)
