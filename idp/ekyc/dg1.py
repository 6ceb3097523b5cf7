"""DG1: the machine readable zone, TD1 layout (three lines of 30 characters; ICAO 9303 part 5).

DG1 is ``61 { 5F1F <MRZ> }``. On the Vietnamese card, following public descriptions of it, the
document code is ``ID``, the issuing state and nationality ``VNM``, the document number the last
nine digits of the 12-digit personal ID number, and the first optional field carries the whole
12-digit number. Every check digit is verified (7-3-1 weighting), the composite one included.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from idp.ekyc import tlv
from idp.ekyc.errors import ChipRefused

MAX_DG1_BYTES = 256
TD1_LENGTH = 90
_MRZ_CHARS = re.compile(r"[A-Z0-9<]{90}")
REASON = "dg1_malformed"


@dataclass(frozen=True)
class Mrz:
    """The fields of a TD1 MRZ, filler ``<`` removed."""

    document_code: str
    issuing_state: str
    document_number: str
    optional_data_1: str
    date_of_birth: dt.date | None
    sex: str
    date_of_expiry: dt.date
    nationality: str
    optional_data_2: str
    primary_identifier: str
    secondary_identifier: str


def check_digit(field: str) -> str:
    """The ICAO 9303 check digit of ``field`` (digits, A-Z as 10-35, ``<`` as 0; weights 7, 3, 1)."""
    total = 0
    for index, char in enumerate(field):
        if char.isdigit():
            value = int(char)
        elif "A" <= char <= "Z":
            value = ord(char) - 55
        else:
            value = 0
        total += value * (7, 3, 1)[index % 3]
    return str(total % 10)


def _date(text: str, *, future_century: bool) -> dt.date | None:
    if text == "<<<<<<":
        return None
    if not text.isdigit():
        raise ChipRefused(REASON, "date is not YYMMDD")
    yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:6])
    today = dt.date.today()
    if future_century:  # an expiry: within the next 50 years
        year = 2000 + yy if 2000 + yy <= today.year + 50 else 1900 + yy
    else:  # a birth: never in the future
        year = 2000 + yy if 2000 + yy <= today.year else 1900 + yy
    try:
        return dt.date(year, mm, dd)
    except ValueError:
        raise ChipRefused(REASON, "date does not exist") from None


def _checked(field: str, digit: str, what: str) -> str:
    if check_digit(field) != digit:
        raise ChipRefused("mrz_check_digit", f"{what} check digit is wrong")
    return field


def parse_mrz(mrz: str) -> Mrz:
    """The fields of a TD1 MRZ (90 characters); raise ChipRefused on any format or check-digit fault."""
    if len(mrz) != TD1_LENGTH or not _MRZ_CHARS.fullmatch(mrz):
        raise ChipRefused(REASON, "not a TD1 MRZ of 90 characters A-Z 0-9 <")
    line1, line2, line3 = mrz[:30], mrz[30:60], mrz[60:]
    number_field = line1[5:14]
    _checked(number_field, line1[14], "document number")
    _checked(line2[0:6], line2[6], "date of birth")
    _checked(line2[8:14], line2[14], "date of expiry")
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    _checked(composite, line2[29], "composite")
    sex = line2[7]
    if sex not in "MF<":
        raise ChipRefused(REASON, "sex is not M, F or <")
    expiry = _date(line2[8:14], future_century=True)
    if expiry is None:
        raise ChipRefused(REASON, "no date of expiry")
    primary, _, secondary = line3.partition("<<")
    return Mrz(
        document_code=line1[0:2].replace("<", ""),
        issuing_state=line1[2:5].replace("<", ""),
        document_number=number_field.replace("<", ""),
        optional_data_1=line1[15:30].replace("<", ""),
        date_of_birth=_date(line2[0:6], future_century=False),
        sex=sex.replace("<", ""),
        date_of_expiry=expiry,
        nationality=line2[15:18].replace("<", ""),
        optional_data_2=line2[18:29].replace("<", ""),
        primary_identifier=primary.replace("<", " ").strip(),
        secondary_identifier=secondary.replace("<", " ").strip(),
    )


def parse_dg1(data: bytes) -> Mrz:
    """DG1's MRZ; raise ChipRefused when DG1 is not ``61 { 5F1F <TD1 MRZ> }``."""
    if len(data) > MAX_DG1_BYTES:
        raise ChipRefused(REASON, "DG1 is too long")
    inner = tlv.read_single(data, 0x61, REASON)
    mrz = tlv.read_single(inner, 0x5F1F, REASON)
    try:
        text = mrz.decode("ascii")
    except UnicodeDecodeError:
        raise ChipRefused(REASON, "MRZ is not ASCII") from None
    return parse_mrz(text)
