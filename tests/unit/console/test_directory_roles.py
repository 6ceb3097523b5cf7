"""Staff roles from a directory count only when that directory owns the ``vn_roles`` claim: a role
another source reported (an upstream, a directory the person did not sign in with) opens nothing."""

from __future__ import annotations

from types import SimpleNamespace

from idp.console.access import directory_roles
from idp.storage.models import Subject
from idp.storage.sql import SqlStorage


def person(storage: SqlStorage, subject_id: str, sources: dict[str, list[str]]) -> None:
    storage.subjects.add(Subject(id=subject_id, kind="person", claims={"name": "Trần Thị Bình",
                                                                        "vn_roles": ["auditor", "one-stop-clerk"]},
                                 sources={adapter: {"claims": claims, "checked_at": 0}
                                          for adapter, claims in sources.items()}))


def test_roles_count_from_the_directory_that_owns_them_only(sqlite_storage: SqlStorage) -> None:
    provider = SimpleNamespace(storage=sqlite_storage)
    person(sqlite_storage, "sub-1", {"officials": ["name", "vn_roles"]})
    person(sqlite_storage, "sub-2", {"officials": ["name"], "vneid": ["vn_roles"]})
    assert directory_roles(provider, "sub-1", "officials") == ("auditor", "one-stop-clerk")  # type: ignore[arg-type]
    assert directory_roles(provider, "sub-1", "other-directory") == ()  # type: ignore[arg-type]
    assert directory_roles(provider, "sub-2", "officials") == ()  # type: ignore[arg-type]
    assert directory_roles(provider, "nobody", "officials") == ()  # type: ignore[arg-type]
