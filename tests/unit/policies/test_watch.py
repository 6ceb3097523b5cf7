"""A watched policy folder: a changed folder is read again after the check interval; a folder that
no longer loads keeps the policies in force."""

from __future__ import annotations

from pathlib import Path

from policies.policy_set import BUILTIN_DEFAULT, PolicySet
from policies.watch import WatchedPolicies


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_changed_folder_is_read_again_and_a_broken_one_is_not(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text(BUILTIN_DEFAULT.read_text(encoding="utf-8"), encoding="utf-8")
    clock = Clock()
    watched = WatchedPolicies(PolicySet.load(tmp_path), known_adapters={"local"}, check_seconds=2, clock=clock)
    assert not watched.current().has_own_policy("portal")
    (tmp_path / "portal.yaml").write_text("version: 1\nclient_id: portal\nadapters: [local]\n", encoding="utf-8")
    assert not watched.current().has_own_policy("portal")  # not before the interval
    clock.now = 2.5
    assert watched.current().has_own_policy("portal")
    (tmp_path / "portal.yaml").write_text("version: 1\nclient_id: portal\nadapters: [nowhere]\n", encoding="utf-8")
    clock.now = 5.0
    assert watched.current().for_client("portal").adapters == ("local",)  # the broken version is not used
    (tmp_path / "portal.yaml").unlink()
    assert not watched.refresh().has_own_policy("portal")


def test_the_builtin_policy_is_never_read_again() -> None:
    builtin = PolicySet.builtin()
    clock = Clock()
    watched = WatchedPolicies(builtin, clock=clock)
    clock.now = 100
    assert watched.current() is builtin
