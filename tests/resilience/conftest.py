"""One local cluster (tests/resilience/cluster.py) for the resilience tests of a run: each test
leaves every part running again when it ends."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.resilience.cluster import Cluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is a ``resilience`` test (``-m "not resilience"`` leaves them out locally;
    CI runs them)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.resilience)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    with tempfile.TemporaryDirectory(prefix="idp-resilience-") as folder:
        running = Cluster(Path(folder))
        try:
            running.start()
            yield running
        finally:
            running.close()
