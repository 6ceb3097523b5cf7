"""Export formats of audit events: JSON Lines, CSV (spreadsheet-safe) and ArcSight CEF.

CEF (Common Event Format, version 0): ``CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|ext``
with ``|`` and ``\\`` escaped in the header and ``=``, ``\\`` and line breaks escaped in extension
values. CSV cells that a spreadsheet would read as a formula (starting with ``= + - @`` or a
tab/CR) get a leading apostrophe: usernames and user agents come from the outside.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from idp import __version__ as IDP_VERSION

FORMATS = ("jsonl", "csv", "cef")
CSV_COLUMNS = ("seq", "time", "type", "outcome", "subject", "username", "client_id", "adapter", "acr",
               "amr", "ip", "user_agent", "session_hash", "request_id", "reason", "details", "prev_hash",
               "hash")


def render(events: Iterable[dict[str, Any]], fmt: str) -> Iterator[str]:
    """The export as lines (each ending in a newline)."""
    if fmt == "jsonl":
        for event in events:
            yield json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
    elif fmt == "csv":
        yield from _csv(events)
    elif fmt == "cef":
        for event in events:
            yield cef_line(event) + "\n"
    else:
        raise ValueError(f"unknown export format {fmt!r} ({', '.join(FORMATS)})")


def _csv(events: Iterable[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for event in events:
        writer.writerow([_csv_cell(event, column) for column in CSV_COLUMNS])
        yield flush()


def _csv_cell(event: dict[str, Any], column: str) -> str:
    value = event.get(column)
    if value is None:
        return ""
    if column == "amr":
        text = " ".join(value)
    elif column == "details":
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    if text and text[0] in "=+-@\t\r":
        text = "'" + text
    return text


def severity(event: dict[str, Any]) -> int:
    """CEF severity 0-10: routine successes low, failures middling, token reuse high."""
    if event["type"] == "token.reuse_detected":
        return 8
    if event["type"] == "adapter.error":
        return 6
    if event["outcome"] == "failure":
        return 5
    if event["outcome"] == "denied":
        return 4
    return 3 if event["type"].startswith(("admin", "key", "client", "account")) else 2


def _header(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _ext(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return (text.replace("\\", "\\\\").replace("=", "\\=").replace("\r", "\\r").replace("\n", "\\n"))


def cef_line(event: dict[str, Any]) -> str:
    millis = int(datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp() * 1000)
    ext: list[tuple[str, Any]] = [
        ("rt", str(millis)), ("externalId", str(event["seq"])), ("outcome", event["outcome"]),
        ("suser", event["username"]), ("duid", event["subject"]), ("src", event["ip"]),
        ("requestClientApplication", event["user_agent"]), ("reason", event["reason"]),
        ("cs1Label", "client_id"), ("cs1", event["client_id"]), ("cs2Label", "acr"), ("cs2", event["acr"]),
        ("cs3Label", "adapter"), ("cs3", event["adapter"]), ("cs4Label", "amr"),
        ("cs4", " ".join(event["amr"]) if event["amr"] else None), ("cs5Label", "request_id"),
        ("cs5", event["request_id"]), ("cs6Label", "hash"), ("cs6", event["hash"]),
        ("msg", event["details"] or None),
    ]
    body = " ".join(f"{key}={_ext(value)}" for key, value in ext if value is not None)
    head = "|".join(_header(part) for part in ("CEF:0", "vn-idp", "idp", IDP_VERSION, event["type"],
                                                event["type"], str(severity(event))))
    return f"{head}|{body}"
