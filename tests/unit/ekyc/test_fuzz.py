"""Fuzzed EF.SOD, DG1, DG13 (and DG14, DG15, EF.COM): random bytes and mutations of genuine files
only ever get a ChipRefused, each in bounded time."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idp.ekyc.active import parse_dg14, public_key
from idp.ekyc.datagroups import ChipRead, check_com
from idp.ekyc.dg1 import parse_dg1
from idp.ekyc.dg13 import parse_dg13
from idp.ekyc.errors import ChipRefused
from idp.ekyc.passive import verify_passive
from idp.ekyc.sod import parse_sod
from idp.ekyc.trust import TrustStore
from tests.unit.ekyc.chips import chip_material

GENUINE = chip_material()[3][0]
PARSERS: dict[str, tuple[Callable[[bytes], object], bytes]] = {
    "sod": (parse_sod, GENUINE.sod),
    "dg1": (parse_dg1, GENUINE.data_groups[1]),
    "dg13": (parse_dg13, GENUINE.data_groups[13]),
    "dg14": (parse_dg14, chip_material()[3][1].data_groups[14]),
    "dg15": (public_key, GENUINE.data_groups[15]),
    "com": (lambda data: check_com(data, {1: b""}), GENUINE.com),
}
LIMIT_SECONDS = 0.5
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


def _only_refusal(parse: Callable[[bytes], object], data: bytes) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ChipRefused):
        parse(data)
    assert time.perf_counter() - started < LIMIT_SECONDS


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "length"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x82, 0x84, 0x85, 0xFF]))
    return bytes(data)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_random_bytes_only_get_refusals(name: str) -> None:
    parse, original = PARSERS[name]

    @FUZZ
    @given(data=st.one_of(st.binary(max_size=512), st.binary(max_size=64).map(lambda b: original[:2] + b)))
    def run(data: bytes) -> None:
        _only_refusal(parse, data)

    run()


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_mutated_genuine_files_only_get_refusals(name: str) -> None:
    parse, original = PARSERS[name]

    @FUZZ
    @given(data=mutated(original))
    def run(data: bytes) -> None:
        _only_refusal(parse, data)

    run()


@pytest.mark.parametrize("name", ["sod", "dg13"])
def test_oversized_and_deeply_nested_input_is_refused_quickly(name: str) -> None:
    parse, _ = PARSERS[name]
    nested = b""
    for _ in range(2000):
        nested = b"\x30\x84" + len(nested).to_bytes(4, "big") + nested
    for data in (b"\x77\x84\x7f\xff\xff\xff" + b"\x00" * 100, b"\x77\x82\x40\x00" + nested[:0x4000], nested,
                 b"\x6d" + b"\x80" + b"\x00" * 10, b"\x00" * 1_000_000):
        with pytest.raises(ChipRefused):
            started = time.perf_counter()
            try:
                parse(data)
            finally:
                assert time.perf_counter() - started < LIMIT_SECONDS


TRUST = TrustStore((chip_material()[0].certificate,), (chip_material()[2],))


@FUZZ
@given(sod=mutated(GENUINE.sod), dg13=mutated(GENUINE.data_groups[13]))
def test_passive_authentication_of_mutated_cards_only_refuses(sod: bytes, dg13: bytes) -> None:
    groups = {**GENUINE.data_groups, 13: dg13}
    _only_refusal(lambda data: verify_passive(ChipRead(data, groups, GENUINE.com), TRUST), sod)
