"""The cccd-chip adapter's configuration: its trust anchors and the adapters it names are checked
when the provider starts, and what it declares it produces."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.config import AdapterContext
from adapters.registry import AdapterConfigError, open_adapters, parse_adapter_configs
from idp.oidc.flow.chip import open_chip_step
from idp.settings import Settings
from idp.storage.ephemeral import MemoryStore
from tests.unit.ekyc.chips import ChipSet


def _adapters(chip_set: ChipSet, face: str = "faces", bundle: Path | None = None) -> str:
    return f"""
adapters:
  - id: chip
    type: cccd-chip
    csca_bundle: {bundle or chip_set.csca_bundle}
    csca_crl: {chip_set.csca_crl}
    face_matcher: {face}
  - id: faces
    type: testing-face
"""


class _Recorder:
    def record(self, event_type: str, **fields: object) -> None:
        raise AssertionError("nothing is recorded at start-up")


def _open(text: str):
    context = AdapterContext(settings=Settings(issuer="http://127.0.0.1:8000"))
    return open_adapters(parse_adapter_configs(text, "adapters.yaml"), context)


def test_a_configured_chip_adapter_opens_the_chip_step_and_declares_cccd_chip(chip_set: ChipSet) -> None:
    adapters = _open(_adapters(chip_set))
    entry = next(e for e in adapters.entries if e.id == "chip")
    assert entry.produces.levels == ("cccd-chip",) and "verified_claims" in entry.produces.claims
    step = open_chip_step(flow=None, adapters=adapters, ephemeral=MemoryStore(), audit=_Recorder(),  # type: ignore[arg-type]
                          subjects=None, hash_key=b"k" * 32)  # type: ignore[arg-type]
    assert step is not None and step.verifications.check_methods() == {"vcrypt", "bvr"}


def test_a_face_matcher_that_is_not_one_stops_start_up(chip_set: ChipSet) -> None:
    adapters = _open(_adapters(chip_set, face="nobody"))
    with pytest.raises(AdapterConfigError, match="'nobody' is not a configured FaceMatcher"):
        open_chip_step(flow=None, adapters=adapters, ephemeral=MemoryStore(), audit=_Recorder(),  # type: ignore[arg-type]
                       subjects=None, hash_key=b"k" * 32)  # type: ignore[arg-type]


def test_an_unusable_csca_bundle_stops_start_up_naming_the_file(chip_set: ChipSet, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(AdapterConfigError, match="nowhere.pem"):
        _open(_adapters(chip_set, bundle=missing))


def test_the_face_matcher_is_required(chip_set: ChipSet) -> None:
    text = _adapters(chip_set).replace("    face_matcher: faces\n", "")
    with pytest.raises(AdapterConfigError, match="face_matcher"):
        parse_adapter_configs(text, "adapters.yaml")
