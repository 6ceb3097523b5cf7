"""A strict BER-TLV reader for the LDS data groups (ICAO 9303 part 10 §4.x uses ASN.1 BER-TLV with
definite lengths only).

Strict on purpose: definite, minimally encoded lengths of at most four bytes, tags of at most three
bytes, every length inside its parent; anything else raises ChipRefused. It reads one level at a
time, as the caller's structure asks: nothing recurses on the input.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.ekyc.errors import ChipRefused


@dataclass(frozen=True)
class Tlv:
    """One element: ``tag`` as the integer of its tag bytes (``0x5F1F``), ``value`` its content."""

    tag: int
    value: bytes
    constructed: bool


def _refuse(reason: str, what: str) -> ChipRefused:
    return ChipRefused(reason, what)


def read_one(data: bytes, offset: int, reason: str) -> tuple[Tlv, int]:
    """The element at ``offset`` and the offset after it."""
    end = len(data)
    if offset >= end:
        raise _refuse(reason, "element expected, end of data")
    first = data[offset]
    tag = first
    constructed = bool(first & 0x20)
    pos = offset + 1
    if first & 0x1F == 0x1F:
        for count in range(2):
            if pos >= end:
                raise _refuse(reason, "tag runs past the end")
            byte = data[pos]
            pos += 1
            tag = (tag << 8) | byte
            if not byte & 0x80:
                break
            if count == 1:
                raise _refuse(reason, "tag longer than three bytes")
    if pos >= end:
        raise _refuse(reason, "length expected, end of data")
    length_byte = data[pos]
    pos += 1
    if length_byte < 0x80:
        length = length_byte
    elif length_byte == 0x80:
        raise _refuse(reason, "indefinite length")
    else:
        count = length_byte & 0x7F
        if count > 4:
            raise _refuse(reason, "length field longer than four bytes")
        if pos + count > end:
            raise _refuse(reason, "length runs past the end")
        raw = data[pos : pos + count]
        pos += count
        length = int.from_bytes(raw, "big")
        if raw[0] == 0 or length < 0x80:
            raise _refuse(reason, "length not minimally encoded")
    if length > end - pos:
        raise _refuse(reason, "element longer than its container")
    return Tlv(tag, bytes(data[pos : pos + length]), constructed), pos + length


def read_all(data: bytes, reason: str, *, max_items: int = 64) -> list[Tlv]:
    """Every element of ``data``, which must hold whole elements only."""
    items: list[Tlv] = []
    offset = 0
    while offset < len(data):
        if len(items) >= max_items:
            raise _refuse(reason, "too many elements")
        item, offset = read_one(data, offset, reason)
        items.append(item)
    return items


def read_single(data: bytes, tag: int, reason: str) -> bytes:
    """The value of the one element ``data`` consists of, which must carry ``tag``."""
    item, offset = read_one(data, 0, reason)
    if item.tag != tag:
        raise _refuse(reason, f"expected tag {tag:#x}, found {item.tag:#x}")
    if offset != len(data):
        raise _refuse(reason, "data after the element")
    return item.value
