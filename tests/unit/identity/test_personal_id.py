"""The personal ID number's format and Vietnamese name splitting (idp/identity)."""

from __future__ import annotations

from datetime import date

import pytest

from idp.identity.names import split_vietnamese_name
from idp.identity.personal_id import InvalidPersonalId, is_valid_personal_id, normalise_personal_id


@pytest.mark.parametrize("number", ["049085001234", "001300000001", "096099999999", "048 193 004 567"])
def test_well_formed_numbers_are_accepted(number: str) -> None:
    assert normalise_personal_id(number, today=date(2026, 1, 1)) == number.replace(" ", "")


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("04908500123", "12 digits"),
        ("0490850012345", "12 digits"),
        ("04908500123a", "12 digits"),
        ("０４９０８５００１２３４", "12 digits"),  # full-width digits are not ASCII digits
        ("003085001234", "province"),  # 003 is not a province code
        ("099085001234", "province"),
        ("049299001234", "future"),  # 2099
        ("049485001234", "future"),  # 2185
    ],
)
def test_malformed_numbers_are_refused_without_echoing_them(number: str, message: str) -> None:
    with pytest.raises(InvalidPersonalId) as caught:
        normalise_personal_id(number, today=date(2026, 1, 1))
    assert message in str(caught.value)
    assert number not in str(caught.value)


def test_non_strings_are_refused() -> None:
    assert not is_valid_personal_id(49085001234)
    assert not is_valid_personal_id(None)


def test_vietnamese_names_split_into_ho_chu_dem_ten() -> None:
    assert split_vietnamese_name("  Trần  Thị Bích   Ngọc ") == {
        "name": "Trần Thị Bích Ngọc",
        "family_name": "Trần",
        "middle_name": "Thị Bích",
        "given_name": "Ngọc",
    }
    assert split_vietnamese_name("Lê Khôi") == {"name": "Lê Khôi", "family_name": "Lê", "given_name": "Khôi"}
    assert split_vietnamese_name("Khôi") == {"name": "Khôi", "given_name": "Khôi"}
    assert split_vietnamese_name("   ") == {}


def test_decomposed_diacritics_are_normalised() -> None:
    decomposed = "Nguye\u0302\u0303n Va\u0306n An"  # NFD as some upstreams send it
    assert split_vietnamese_name(decomposed)["family_name"] == "Nguyễn"
