"""Vietnamese full names: họ (family name) first, then chữ đệm (middle names), then tên
(given name). ``name`` stays authoritative; the split is a convenience for relying parties."""

from __future__ import annotations

import unicodedata


def normalise_name(value: str) -> str:
    """NFC, single spaces, no surrounding space (upstreams differ in all three)."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def split_vietnamese_name(full_name: str) -> dict[str, str]:
    """``{"name", "family_name", "middle_name", "given_name"}`` from a full name; parts that do
    not exist (a one-word name has no họ) are left out."""
    name = normalise_name(full_name)
    parts = name.split(" ") if name else []
    result: dict[str, str] = {}
    if not parts:
        return result
    result["name"] = name
    result["given_name"] = parts[-1]
    if len(parts) >= 2:
        result["family_name"] = parts[0]
    if len(parts) >= 3:
        result["middle_name"] = " ".join(parts[1:-1])
    return result
