"""The 12-digit personal identification number (số định danh cá nhân).

Layout (Circular 07/2016/TT-BCA and later; see docs/domain.md, the personal ID number): three digits of
the province where the birth was registered (the 63-province list; codes keep their meaning after
the 2025 merger, a number never changes), one century/sex digit (0/1 = 1900s male/female, 2/3 =
2000s, 4/5 = 2100s, ...), the last two digits of the birth year, six serial digits.

The provider only checks the *format*: it never derives birth date, sex or birthplace from the
number (that would leak personal data into places that did not ask for it).
"""

from __future__ import annotations

import re
from datetime import date

from idp.errors import IdpError

# Birth-registration province codes of the 63-province list (unchanged by the 2025 reorganisation).
PROVINCE_CODES = frozenset(
    {
        "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020",
        "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038",
        "040", "042", "044", "045", "046", "048", "049", "051", "052", "054", "056", "058", "060",
        "062", "064", "066", "067", "068", "070", "072", "074", "075", "077", "079", "080", "082",
        "083", "084", "086", "087", "089", "091", "092", "093", "094", "095", "096",
    }
)  # fmt: skip

_FORMAT = re.compile(r"^[0-9]{12}$")


class InvalidPersonalId(ValueError, IdpError):
    """The value is not a well-formed personal identification number (the value is never echoed)."""


def birth_year(number: str) -> int:
    """The birth year the century digit and the year digits encode (format checks only)."""
    century = 1900 + (int(number[3]) // 2) * 100
    return century + int(number[4:6])


def normalise_personal_id(value: object, *, today: date | None = None) -> str:
    """Return the number as 12 ASCII digits or raise :class:`InvalidPersonalId`.

    Spaces are removed (people and some upstreams group the digits); anything else is refused:
    wrong length, non-digits, an unknown province code, a birth year in the future.
    """
    if not isinstance(value, str):
        raise InvalidPersonalId("personal ID number must be a string")
    number = "".join(value.split())
    if not _FORMAT.fullmatch(number):
        raise InvalidPersonalId("personal ID number must be exactly 12 digits")
    if number[:3] not in PROVINCE_CODES:
        raise InvalidPersonalId("personal ID number has an unknown province code")
    current_year = (today or date.today()).year
    if birth_year(number) > current_year:
        raise InvalidPersonalId("personal ID number encodes a birth year in the future")
    return number


def is_valid_personal_id(value: object) -> bool:
    try:
        normalise_personal_id(value)
    except InvalidPersonalId:
        return False
    return True
