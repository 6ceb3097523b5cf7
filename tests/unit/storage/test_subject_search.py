"""Finding subjects by part of their stored name (the admin API's people search) on each database:
a substring, case-insensitive, the LIKE wildcards taken literally, bounded, by id."""

from __future__ import annotations

from idp.storage.models import Subject
from idp.storage.sql import SqlStorage


def test_find_by_name(storage: SqlStorage) -> None:
    for subject_id, name in (("s1", "Hoang Thi En"), ("s2", "Nguyen Hoang Nam"), ("s3", "Le 100% _Dat_"),
                             ("s4", None)):
        storage.subjects.add(Subject(id=subject_id, kind="person", claims={"name": name} if name else {}))
    assert [s.id for s in storage.subjects.find_by_name("hoang", 10)] == ["s1", "s2"]
    assert [s.id for s in storage.subjects.find_by_name("HOANG", 1)] == ["s1"]
    assert [s.id for s in storage.subjects.find_by_name("100%", 10)] == ["s3"]
    assert storage.subjects.find_by_name("0%_", 10) == []  # % and _ are letters here, not wildcards
    assert [s.id for s in storage.subjects.find_by_name("_Dat_", 10)] == ["s3"]
    assert storage.subjects.find_by_name("Hoang_Thi", 10) == []
    assert storage.subjects.find_by_name("Trần", 10) == []
