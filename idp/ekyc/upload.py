"""What a reader posts: a JSON object of base64 fields (``sod``, ``com``, ``dg1``, ``dg2``, ``dg13``,
``dg14``, ``dg15``, ``aa_signature``, ``selfie``), each within its limit, nothing else.

The OpenAPI description of the reader API (idp/ekyc/openapi.py) documents the same fields.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from idp.ekyc.datagroups import MAX_BYTES, ChipRead
from idp.ekyc.errors import ChipRefused

MAX_SELFIE_BYTES = 256 * 1024
MAX_AA_SIGNATURE_BYTES = 512
#: The whole JSON body (the selfie and DG2 dominate; base64 adds a third).
MAX_BODY_BYTES = 600 * 1024
FIELDS: dict[str, int] = {
    "sod": MAX_BYTES["sod"], "com": MAX_BYTES["com"],
    **{f"dg{n}": MAX_BYTES[n] for n in (1, 2, 13, 14, 15)},
    "aa_signature": MAX_AA_SIGNATURE_BYTES, "selfie": MAX_SELFIE_BYTES,
}


@dataclass(frozen=True)
class Upload:
    """One reader upload: the chip read, the chip's answer to the nonce, the live face capture."""

    read: ChipRead
    aa_signature: bytes | None
    selfie: bytes | None


def _decode(name: str, value: Any, limit: int) -> bytes:
    if not isinstance(value, str) or len(value) > (limit * 4) // 3 + 4:
        raise ChipRefused("upload_malformed", f"{name} must be a base64 string of at most {limit} bytes")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ChipRefused("upload_malformed", f"{name} is not base64") from None
    if len(data) > limit:
        raise ChipRefused("upload_malformed", f"{name} is longer than {limit} bytes")
    return data


def parse_upload(body: Any) -> Upload:
    """The upload in a decoded JSON body; raise ChipRefused (``upload_malformed``, ``dg_missing``)."""
    if not isinstance(body, Mapping):
        raise ChipRefused("upload_malformed", "the body must be a JSON object")
    unknown = set(body) - set(FIELDS)
    if unknown:
        raise ChipRefused("upload_malformed", f"unknown field {sorted(unknown)[0][:40]!r}")
    values = {name: _decode(name, body[name], FIELDS[name]) for name in FIELDS if body.get(name) is not None}
    if "sod" not in values:
        raise ChipRefused("dg_missing", "EF.SOD is required")
    groups = {n: values[f"dg{n}"] for n in (1, 2, 13, 14, 15) if f"dg{n}" in values}
    return Upload(ChipRead(values["sod"], groups, values.get("com")), values.get("aa_signature"),
                  values.get("selfie"))
