"""DG13 of the Vietnamese chip ID card: the holder's personal data, a proprietary (not ICAO) data group.

The layout below follows public descriptions of the card, not a published specification: the
Ministry of Public Security has not published DG13's format. A card that differs is refused with
``dg13_malformed``, never half-read. The layout, in BER-TLV with definite lengths::

    6D L                                 DG13
      30 L                               the fields, in any order, each number at most once
        30 L  02 01 <n>  <string>        field n: INTEGER n, then one UTF8String (0C) or PrintableString (13)
        30 L  02 01 0D   <string> <string>   field 13: the father's name, then the mother's name

=====  ======================  =====================================================  ========
Field  Name                    Content                                                Required
=====  ======================  =====================================================  ========
1      id_number               the 12-digit personal identification number            yes
2      full_name               family name first, with diacritics                     yes
3      date_of_birth           DD/MM/YYYY                                             yes
4      sex                     ``Nam`` (male) or ``Nữ`` (female)                      yes
5      nationality             ``Việt Nam``                                           yes
6      ethnicity               e.g. ``Kinh``                                          no
7      religion                e.g. ``Không``                                         no
8      home_town               quê quán                                               yes
9      permanent_residence     nơi thường trú                                         yes
10     identifying_marks       đặc điểm nhận dạng                                     no
11     issue_date              DD/MM/YYYY                                             yes
12     expiry_date             DD/MM/YYYY, or ``Không thời hạn`` (no expiry)          yes
13     parents                 father's name, mother's name (either may be empty)     no
15     old_id_number           the old 9-digit identity card number                   no
=====  ======================  =====================================================  ========

Limits: DG13 at most 4 KiB, each string at most 512 bytes of UTF-8 without control characters.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from idp.ekyc import tlv
from idp.ekyc.errors import ChipRefused

MAX_DG13_BYTES = 4096
MAX_STRING_BYTES = 512
REASON = "dg13_malformed"
NO_EXPIRY = "Không thời hạn"

ID_NUMBER, FULL_NAME, DATE_OF_BIRTH, SEX, NATIONALITY, ETHNICITY, RELIGION = 1, 2, 3, 4, 5, 6, 7
HOME_TOWN, PERMANENT_RESIDENCE, IDENTIFYING_MARKS, ISSUE_DATE, EXPIRY_DATE = 8, 9, 10, 11, 12
PARENTS, OLD_ID_NUMBER = 13, 15
SINGLE_FIELDS = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15})
REQUIRED_FIELDS = frozenset({ID_NUMBER, FULL_NAME, DATE_OF_BIRTH, SEX, NATIONALITY, HOME_TOWN,
                             PERMANENT_RESIDENCE, ISSUE_DATE, EXPIRY_DATE})
SEX_VALUES = {"Nam": "male", "Nữ": "female"}
STRING_TAGS = (0x0C, 0x13)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class CitizenData:
    """DG13's fields, parsed. ``sex`` is ``male`` or ``female``; ``expiry_date`` None: no expiry."""

    id_number: str
    full_name: str
    date_of_birth: dt.date
    sex: str
    nationality: str
    ethnicity: str | None
    religion: str | None
    home_town: str
    permanent_residence: str
    identifying_marks: str | None
    issue_date: dt.date
    expiry_date: dt.date | None
    father_name: str | None
    mother_name: str | None
    old_id_number: str | None


def _string(item: tlv.Tlv) -> str:
    if item.tag not in STRING_TAGS:
        raise ChipRefused(REASON, f"expected a string, found tag {item.tag:#x}")
    if len(item.value) > MAX_STRING_BYTES:
        raise ChipRefused(REASON, "string too long")
    try:
        text = item.value.decode("utf-8")
    except UnicodeDecodeError:
        raise ChipRefused(REASON, "string is not UTF-8") from None
    if _CONTROL.search(text):
        raise ChipRefused(REASON, "string holds control characters")
    return unicodedata.normalize("NFC", text).strip()


def _date(text: str) -> dt.date:
    match = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", text)
    if not match:
        raise ChipRefused(REASON, "date is not DD/MM/YYYY")
    try:
        return dt.date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        raise ChipRefused(REASON, "date does not exist") from None


def _fields(data: bytes) -> dict[int, list[str]]:
    if len(data) > MAX_DG13_BYTES:
        raise ChipRefused(REASON, "DG13 is too long")
    body = tlv.read_single(tlv.read_single(data, 0x6D, REASON), 0x30, REASON)
    fields: dict[int, list[str]] = {}
    for entry in tlv.read_all(body, REASON, max_items=32):
        if entry.tag != 0x30:
            raise ChipRefused(REASON, "field is not a SEQUENCE")
        parts = tlv.read_all(entry.value, REASON, max_items=3)
        if not parts or parts[0].tag != 0x02 or len(parts[0].value) != 1:
            raise ChipRefused(REASON, "field number is not a one-byte INTEGER")
        number = parts[0].value[0]
        if number in fields:
            raise ChipRefused(REASON, f"field {number} appears twice")
        expected = 2 if number == PARENTS else 1
        if number not in SINGLE_FIELDS and number != PARENTS:
            raise ChipRefused(REASON, f"unknown field {number}")
        if len(parts) - 1 != expected:
            raise ChipRefused(REASON, f"field {number} has {len(parts) - 1} values, expected {expected}")
        fields[number] = [_string(part) for part in parts[1:]]
    missing = REQUIRED_FIELDS - fields.keys()
    if missing:
        raise ChipRefused(REASON, f"required field {min(missing)} is missing")
    return fields


def parse_dg13(data: bytes) -> CitizenData:
    """DG13's fields; raise ChipRefused when the layout above is not followed exactly."""
    fields = _fields(data)

    def one(number: int) -> str | None:
        values = fields.get(number)
        return values[0] or None if values else None

    id_number = one(ID_NUMBER) or ""
    if not re.fullmatch(r"\d{12}", id_number):
        raise ChipRefused(REASON, "personal ID number is not 12 digits")
    old_id = one(OLD_ID_NUMBER)
    if old_id is not None and not re.fullmatch(r"\d{9}", old_id):
        raise ChipRefused(REASON, "old ID number is not 9 digits")
    sex = SEX_VALUES.get(one(SEX) or "")
    if sex is None:
        raise ChipRefused(REASON, "sex is neither Nam nor Nữ")
    expiry_text = one(EXPIRY_DATE) or ""
    expiry = None if expiry_text == NO_EXPIRY else _date(expiry_text)
    name = one(FULL_NAME)
    if not name:
        raise ChipRefused(REASON, "full name is empty")
    parents = fields.get(PARENTS, ["", ""])
    return CitizenData(
        id_number=id_number,
        full_name=name,
        date_of_birth=_date(one(DATE_OF_BIRTH) or ""),
        sex=sex,
        nationality=one(NATIONALITY) or "",
        ethnicity=one(ETHNICITY),
        religion=one(RELIGION),
        home_town=one(HOME_TOWN) or "",
        permanent_residence=one(PERMANENT_RESIDENCE) or "",
        identifying_marks=one(IDENTIFYING_MARKS),
        issue_date=_date(one(ISSUE_DATE) or ""),
        expiry_date=expiry,
        father_name=parents[0] or None,
        mother_name=parents[1] or None,
        old_id_number=old_id,
    )
