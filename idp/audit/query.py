"""Searching the audit log: filters, newest-first cursor pagination, and the public JSON form."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from idp.audit.chain import format_time, utc_ms
from idp.audit.reading import pages
from idp.storage.db import Database
from idp.storage.schema import audit_events

MAX_PAGE = 500


@dataclass(frozen=True)
class AuditQuery:
    """Filters of a search; every one that is set must match. ``type`` ending in ``.*`` is a prefix."""

    since: datetime | None = None
    until: datetime | None = None
    subject: str | None = None
    username: str | None = None
    client_id: str | None = None
    ip: str | None = None
    type: str | None = None
    outcome: str | None = None

    def statement(self) -> Select[Any]:
        c = audit_events.c
        query = select(audit_events)
        if self.since is not None:
            query = query.where(c.occurred_at >= utc_ms(self.since))
        if self.until is not None:
            query = query.where(c.occurred_at < utc_ms(self.until))
        for column, value in ((c.subject, self.subject), (c.username, self.username),
                              (c.client_id, self.client_id), (c.ip, self.ip), (c.outcome, self.outcome)):
            if value is not None:
                query = query.where(column == value)
        if self.type is not None:
            if self.type.endswith(".*"):
                prefix = self.type[:-2]
                query = query.where((c.type == prefix) | c.type.startswith(prefix + ".", autoescape=True))
            else:
                query = query.where(c.type == self.type)
        return query


@dataclass(frozen=True)
class Page:
    events: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The sequence number a cursor continues below; ValueError for anything not made by us."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("invalid cursor") from None
    kind, _, number = text.partition(":")
    if kind != "seq" or not number.isdigit() or len(number) > 19:
        raise ValueError("invalid cursor")
    return int(number)


def search(db: Database, query: AuditQuery, *, limit: int = 100, cursor: str | None = None) -> Page:
    """One page of matching events, newest first; ``next_cursor`` continues with older ones."""
    return page_of(db, query.statement(), limit=limit, cursor=cursor)


def page_of(db: Database, statement: Select[Any], *, limit: int = 100, cursor: str | None = None) -> Page:
    """One page of a statement over ``audit_events``, newest first (``cursor``: older than it)."""
    limit = max(1, min(limit, MAX_PAGE))
    statement = statement.order_by(audit_events.c.seq.desc()).limit(limit + 1)
    if cursor:
        statement = statement.where(audit_events.c.seq < decode_cursor(cursor))
    with db.connect() as conn:
        rows = [event_json(r) for r in conn.execute(statement).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1]["seq"]) if more and rows else None)


def iter_matching(db: Database, query: AuditQuery, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every matching event, oldest first, read in short batches (for export: the next batch is read
    while this one is written, and memory stays flat; :func:`idp.audit.reading.pages`)."""
    for page in pages(db, query.statement(), batch=batch):
        for row in page:
            yield event_json(row)


def event_json(row: Any) -> dict[str, Any]:
    """An event as the API, the export and the SIEM show it (hashes included, for re-checking)."""
    return {
        "seq": int(row["seq"]),
        "time": format_time(row["occurred_at"]),
        "type": row["type"],
        "outcome": row["outcome"],
        "subject": row["subject"],
        "username": row["username"],
        "client_id": row["client_id"],
        "adapter": row["adapter"],
        "acr": row["acr"],
        "amr": list(row["amr"]) if row["amr"] is not None else None,
        "ip": row["ip"],
        "user_agent": row["user_agent"],
        "session_hash": row["session_hash"],
        "request_id": row["request_id"],
        "reason": row["reason"],
        "details": dict(row["details"] or {}),
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
    }


def recent_signins(db: Database, subject_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """A person's own latest successful sign-ins, newest first, for the account page:
    ``{time, client_id, client_name, method, acr, ip}`` (``method``: the adapter, else the first amr)."""
    from idp.storage.schema import clients

    c = audit_events.c
    statement = (
        select(c.occurred_at, c.client_id, clients.c.name, c.adapter, c.amr, c.acr, c.ip)
        .select_from(audit_events.outerjoin(clients, clients.c.client_id == c.client_id))
        .where(c.subject == subject_id, c.type == "signin", c.outcome == "success")
        .order_by(c.seq.desc()).limit(max(1, min(limit, 100)))
    )
    with db.connect() as conn:
        rows = conn.execute(statement).all()
    return [
        {"time": utc_ms(row.occurred_at), "client_id": row.client_id, "client_name": row.name or row.client_id,
         "method": row.adapter or (row.amr[0] if row.amr else None), "acr": row.acr, "ip": row.ip}
        for row in rows
    ]


def releases_to_services(db: Database, subject_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """What services received about a person, newest first, from the ``token.issued`` events:
    ``{time, client_id, client_name, scope, claims, legal_basis}`` (``legal_basis``: per scope,
    as recorded when the token was issued; older events have none)."""
    from idp.storage.schema import clients

    c = audit_events.c
    statement = (
        select(c.occurred_at, c.client_id, clients.c.name, c.details)
        .select_from(audit_events.outerjoin(clients, clients.c.client_id == c.client_id))
        .where(c.subject == subject_id, c.type == "token.issued", c.outcome == "success")
        .order_by(c.seq.desc()).limit(max(1, min(limit, 1000)))
    )
    with db.connect() as conn:
        rows = conn.execute(statement).all()
    return [
        {"time": format_time(utc_ms(row.occurred_at)), "client_id": row.client_id,
         "client_name": row.name or row.client_id, "scope": str((row.details or {}).get("scope", "")),
         "claims": list((row.details or {}).get("claims", [])),
         "legal_basis": dict((row.details or {}).get("legal_basis", {}))}
        for row in rows
    ]
