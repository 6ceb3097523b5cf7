"""The copy of the signed checkpoints kept outside the database, in the SIEM.

The forwarder (:mod:`idp.audit.forwarding`) sends every signed checkpoint to the SIEM stream as a
message of its own, right after the event it signs, in the same line format as the events
(:mod:`idp.audit.siem`: RFC 5424 syslog with the JSON in the message, or JSON over HTTP)::

    {"type": "audit.checkpoint", "outcome": "success", "seq": 4000, "hash": "<chain hash at 4000>",
     "time": "2026-...Z", "checkpoint": "<compact JWS signed by the provider>"}

``idp audit verify --checkpoints FILE`` reads such a copy: one message per line, each either a
syslog line as the SIEM stores it (an RFC 6587 octet count in front is tolerated; the JSON follows
the byte order mark), a bare JSON object, or an HTTP batch ``{"events": [...]}``. Every other line
is skipped. A signed checkpoint in the copy that the database no longer has, or whose hash differs
from the database's event at that seq, shows events removed or rebuilt after the last checkpoint
the database still agrees with, which no re-signing can hide (it takes the provider's key).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from idp.audit.chain import format_time
from idp.errors import IdpError

CHECKPOINT_TYPE = "audit.checkpoint"
_OCTET_COUNT = re.compile(r"^\d{1,10} (?=<)")
BOM = "\ufeff"


class ExternalCopyInvalid(IdpError):
    """The external checkpoint copy cannot be used (unreadable, no checkpoint in it, a bad signature)."""


def checkpoint_message(seq: int, chain_hash: str, signature: str, when: datetime) -> dict[str, Any]:
    """The SIEM message of one signed checkpoint (see the module docstring)."""
    return {"type": CHECKPOINT_TYPE, "outcome": "success", "seq": int(seq), "hash": chain_hash,
            "time": format_time(when), "checkpoint": signature}


@dataclass(frozen=True)
class ExternalCheckpoint:
    seq: int
    hash: str
    signature: str
    line: int


def read_external_copy(path: Path) -> list[ExternalCheckpoint]:
    """The checkpoints of the copy, in file order; :class:`ExternalCopyInvalid` when it has none."""
    name = str(path)[-200:]
    found: list[ExternalCheckpoint] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                found += [ExternalCheckpoint(m["seq"], m["hash"], m["checkpoint"], number)
                          for m in _messages(line) if _is_checkpoint(m)]
    except OSError as exc:
        raise ExternalCopyInvalid(f"không đọc được bản sao điểm kiểm tra {name} / cannot read checkpoint copy "
                                  f"{name}: {exc.strerror or type(exc).__name__}") from None
    if not found:
        raise ExternalCopyInvalid(f"bản sao {name} không có điểm kiểm tra nào / no signed checkpoint found in "
                                  f"{name} (expected SIEM lines of type {CHECKPOINT_TYPE})")
    return found


def _messages(line: str) -> Iterator[dict[str, Any]]:
    text = _OCTET_COUNT.sub("", line.strip(), count=1)
    if text.startswith("<"):
        _, bom, body = text.partition(BOM)
        text = body if bom else ""
    if not text.startswith("{"):
        return
    try:
        value = json.loads(text)
    except ValueError:
        return
    if isinstance(value, dict) and isinstance(value.get("events"), list):
        yield from (e for e in value["events"] if isinstance(e, dict))
    elif isinstance(value, dict):
        yield value


def _is_checkpoint(message: dict[str, Any]) -> bool:
    seq = message.get("seq")
    return (message.get("type") == CHECKPOINT_TYPE and isinstance(seq, int) and not isinstance(seq, bool)
            and seq > 0 and isinstance(message.get("hash"), str) and isinstance(message.get("checkpoint"), str))
