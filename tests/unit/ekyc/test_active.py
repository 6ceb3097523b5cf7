"""Active authentication: each chip with a DG15 key answers a fresh nonce; a clone or a replay does not."""

from __future__ import annotations

import pytest

from idp.ekyc.active import new_nonce, parse_dg14, verify_active
from idp.ekyc.errors import ChipRefused
from tests.unit.ekyc.chips import ChipSet


def _dg14(chip):
    return parse_dg14(chip.data_groups[14]) if 14 in chip.data_groups else None


@pytest.mark.parametrize(("label", "algorithm", "hash_name"), [
    ("rsa-aa-sha256", "rsa-iso9796-2", "sha256"),
    ("rsa-aa-sha1", "rsa-iso9796-2", "sha1"),
    ("ecdsa-aa-ecdsa", "ecdsa", "sha256"),
])
def test_a_chip_answers_the_nonce_with_its_dg15_key(chip_set: ChipSet, label: str, algorithm: str,
                                                    hash_name: str) -> None:
    chip = chip_set.by_label(label)
    nonce = new_nonce()
    result = verify_active(chip.data_groups[15], nonce, chip.answer(nonce), _dg14(chip))
    assert (result.algorithm, result.hash_algorithm) == (algorithm, hash_name)


@pytest.mark.parametrize("label", ["rsa-aa-sha256", "ecdsa-aa-ecdsa"])
def test_an_answer_to_another_nonce_is_refused(chip_set: ChipSet, label: str) -> None:
    chip = chip_set.by_label(label)
    old = chip.answer(new_nonce())
    with pytest.raises(ChipRefused) as refused:
        verify_active(chip.data_groups[15], new_nonce(), old, _dg14(chip))
    assert refused.value.reason == "aa_signature_invalid"


def test_a_clone_without_the_chip_key_is_refused(chip_set: ChipSet) -> None:
    chip = chip_set.by_label("wrong-aa")
    nonce = new_nonce()
    with pytest.raises(ChipRefused) as refused:
        verify_active(chip.data_groups[15], nonce, chip.answer(nonce))
    assert refused.value.reason == chip.refusal


def test_dg14_reports_chip_authentication(chip_set: ChipSet) -> None:
    report = parse_dg14(chip_set.by_label("ecdsa-aa-ecdsa").data_groups[14])
    assert report.chip_authentication and report.aa_hash == "sha256"


@pytest.mark.parametrize("signature", [b"", b"\x00" * 64, b"\x01" * 600, b"\xff" * 256])
def test_malformed_signatures_are_refused(chip_set: ChipSet, signature: bytes) -> None:
    chip = chip_set.by_label("rsa-aa-sha256")
    with pytest.raises(ChipRefused):
        verify_active(chip.data_groups[15], new_nonce(), signature)


def test_a_nonce_of_the_wrong_size_is_refused(chip_set: ChipSet) -> None:
    chip = chip_set.by_label("rsa-aa-sha256")
    with pytest.raises(ChipRefused) as refused:
        verify_active(chip.data_groups[15], b"1234", chip.answer(b"1234"))
    assert refused.value.reason == "aa_nonce_invalid"
