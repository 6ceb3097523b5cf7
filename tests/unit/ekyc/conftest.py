"""The synthetic chips and the trust store they were made for (one per test session)."""

from __future__ import annotations

import pytest

from idp.ekyc.trust import TrustStore, load_trust_store
from tests.unit.ekyc.chips import ChipSet, make_chip_set


@pytest.fixture(scope="session")
def chip_set(tmp_path_factory: pytest.TempPathFactory) -> ChipSet:
    return make_chip_set(tmp_path_factory.mktemp("chips"))


@pytest.fixture(scope="session")
def trust(chip_set: ChipSet) -> TrustStore:
    return load_trust_store(chip_set.csca_bundle, chip_set.csca_crl)
