"""The hash chain: the canonical form of an audit row and its SHA-256.

``hash = sha256(canonical_json({...every stored field..., "prev_hash": ...}))`` where canonical
JSON has sorted keys, no spaces, UTF-8, and times as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC,
milliseconds). The first event's ``prev_hash`` is :data:`GENESIS`. Changing any field, the
sequence number or the order of rows breaks the chain at that row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

HASHED_FIELDS = (
    "seq", "occurred_at", "type", "outcome", "subject", "username", "client_id", "adapter", "acr",
    "amr", "ip", "user_agent", "session_hash", "request_id", "reason", "details", "prev_hash",
)


def utc_ms(value: datetime) -> datetime:
    """The time in UTC, cut to milliseconds (what every database stores exactly)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if value.microsecond % 1000:
        value = value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value


def format_time(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC (``isoformat`` writes it as ``strftime`` would, in a
    fraction of the time, for every year an audit event can carry: 1000 to 9999)."""
    return utc_ms(value).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


#: Built once: ``json.dumps`` with these options builds a new encoder on every call (a tenth of a
#: row's hash).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> bytes:
    return _CANONICAL.encode(value).encode("utf-8")


def hashed_form(row: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a stored row as they enter the hash (times formatted, amr as a list)."""
    form = {name: row.get(name) for name in HASHED_FIELDS}
    form["occurred_at"] = format_time(row["occurred_at"])
    form["amr"] = list(row["amr"]) if row.get("amr") is not None else None
    form["details"] = dict(row.get("details") or {})
    form["seq"] = int(row["seq"])
    return form


def row_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical form of the row (including its ``prev_hash``)."""
    return hashlib.sha256(canonical_json(hashed_form(row))).hexdigest()


_PLAIN = (str, int, bool, type(None))


def json_safe(details: Mapping[str, Any]) -> dict[str, Any]:
    """``details`` as it comes back from a JSON column (string keys, no tuples, no NaN). Flat
    details of strings, integers, booleans and nulls (most events) come back as they are."""
    if all(type(key) is str and type(value) in _PLAIN for key, value in details.items()):
        return dict(details)
    safe: dict[str, Any] = json.loads(json.dumps(dict(details), default=str, ensure_ascii=False, allow_nan=False))
    return safe
