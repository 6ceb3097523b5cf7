"""The data groups a reader sends, with their limits, and EF.COM (ICAO 9303 part 10 §4.6.1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from idp.ekyc import tlv
from idp.ekyc.errors import ChipRefused

# data group number -> the tag its file starts with
DG_TAGS = {1: 0x61, 2: 0x75, 13: 0x6D, 14: 0x6E, 15: 0x6F}
MAX_BYTES = {"com": 64, "sod": 32 * 1024, 1: 256, 2: 128 * 1024, 13: 4096, 14: 4096, 15: 1024}
REQUIRED = (1, 13)


@dataclass(frozen=True)
class ChipRead:
    """One read of a card: EF.SOD, the data groups by number, EF.COM when sent."""

    sod: bytes
    data_groups: Mapping[int, bytes]
    com: bytes | None = None

    def __post_init__(self) -> None:
        if len(self.sod) > MAX_BYTES["sod"]:
            raise ChipRefused("sod_malformed", "EF.SOD is too long")
        if self.com is not None and len(self.com) > MAX_BYTES["com"]:
            raise ChipRefused("com_malformed", "EF.COM is too long")
        for number, data in self.data_groups.items():
            if number not in DG_TAGS:
                raise ChipRefused("dg_unexpected", f"data group {number} is not accepted")
            if len(data) > MAX_BYTES[number]:
                raise ChipRefused(f"dg{number}_malformed", f"DG{number} is too long")
        for number in REQUIRED:
            if number not in self.data_groups:
                raise ChipRefused("dg_missing", f"DG{number} is required")


def check_com(com: bytes, present: Mapping[int, bytes]) -> None:
    """EF.COM (``60 { 5F01 version, 5F36 unicode version, 5C tag list }``) must list every data
    group that was sent; raise ChipRefused (``com_malformed``) otherwise."""
    reason = "com_malformed"
    fields = {item.tag: item.value for item in tlv.read_all(tlv.read_single(com, 0x60, reason), reason, max_items=4)}
    if set(fields) != {0x5F01, 0x5F36, 0x5C}:
        raise ChipRefused(reason, "EF.COM must hold the LDS version, the Unicode version and the tag list")
    listed = set(fields[0x5C])
    for number in present:
        if DG_TAGS[number] not in listed:
            raise ChipRefused(reason, f"EF.COM does not list DG{number}")
