"""Activating a policy version and rolling back: the folder is the truth, the replaced version is
kept on a stack, a refused document or rollback changes nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from idp.admin import policies as admin_policies
from idp.admin.policies import PolicyChange, PolicyChangeRefused, PolicyVersions
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


def test_simultaneous_activations_take_turns(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Six activations at once (each write slowed, so their read-keep-write steps would overlap
    without the lock): every replaced version is kept once, none is lost, and rolling back walks
    the versions back one by one to the time before the first."""
    write = admin_policies._write_atomically

    def slow_write(path: Path, text: str) -> None:
        time.sleep(0.02)
        write(path, text)

    monkeypatch.setattr(admin_policies, "_write_atomically", slow_write)
    texts = [f"{PORTAL_V1}# phiên bản {i}\n" for i in range(6)]
    start = threading.Barrier(len(texts))
    changes: list[PolicyChange] = []

    def activate(text: str) -> None:
        start.wait()
        changes.append(versions(folder).activate("portal", text))

    threads = [threading.Thread(target=activate, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(changes) == len(texts)
    befores = [c.before for c in changes]
    assert befores.count(None) == 1 and len(set(befores)) == len(texts)  # each replaced a different one
    assert len(list((folder / ".history" / "portal").glob("*.yaml"))) == len(texts)
    in_force = admin_policies._digest((folder / "portal.yaml").read_text(encoding="utf-8"))
    assert in_force not in befores and in_force in {admin_policies._digest(t) for t in texts}
    walked = [in_force]
    for _ in texts:
        back = versions(folder).roll_back("portal")
        assert back.before == walked[-1]
        path = folder / "portal.yaml"
        walked.append(admin_policies._digest(path.read_text(encoding="utf-8")) if path.is_file() else None)
    assert walked[-1] is None and set(walked[:-1]) == {admin_policies._digest(t) for t in texts}
    assert not PolicySet.load(folder).has_own_policy("portal")
