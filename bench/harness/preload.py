"""``bench/run.py --preload``: the database of a province some years in, before measuring (issue 22).

Fills our database with, at ``--scale 1``: 1,000,000 chained, signed-checkpointed audit events
(:mod:`bench.harness.audit_fill`), 200,000 people (subjects) each with an identity link at the
national identity source, 500,000 live refresh tokens (one grant each, over the bench's relying
parties) and 50,000 consents, written with COPY. Run as its own process with our server's
environment (the database URL and the data directory whose key store signs the checkpoints), after
the bench's ``idp`` set-up commands and before the server starts:

    python -m bench.harness.preload --clients rp-1,rp-2 [--scale 1]

The peer's store is not preloaded.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bench.harness.audit_fill import fill_audit_events
from bench.harness.bulk import copy_rows
from idp.storage.db import Database
from idp.storage.schema import consents, grants, identity_links, refresh_tokens, subjects

EVENTS, PEOPLE, REFRESH_TOKENS, CONSENTS = 1_000_000, 200_000, 500_000, 50_000
ADAPTER = "vneid"


def people(count: int, now: datetime) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(subject row, identity link row) of ``count`` people."""
    for n in range(count):
        subject_id = secrets.token_hex(16)
        claims = {"name": f"Nguyễn Văn Bench {n}", "birthdate": "1985-06-15", "gender": "male"}
        yield ({"id": subject_id, "kind": "person", "personal_id_hash": secrets.token_hex(32), "claims": claims,
                "sources": {ADAPTER: {"claims": sorted(claims), "checked_at": int(now.timestamp())}},
                "version": 1, "created_at": now, "updated_at": now},
               {"id": secrets.token_hex(16), "subject_id": subject_id, "adapter": ADAPTER,
                "external_subject": f"{n:012d}", "claims": claims, "created_at": now, "last_login_at": now})


def live_tokens(count: int, subject_ids: Sequence[str], clients: Sequence[str],
                now: datetime) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(grant row, refresh token row) pairs: one live, unused token per grant, valid 30 days more."""
    expires = now + timedelta(days=30)
    for n in range(count):
        grant_id = secrets.token_urlsafe(16)
        yield ({"id": grant_id, "client_id": clients[n % len(clients)], "subject_id": subject_ids[n % len(subject_ids)],
                "scopes": ["openid", "profile", "offline_access"], "claims": {}, "sid": secrets.token_urlsafe(16),
                "acr": "urn:vn:loa:2", "amr": ["pwd"], "auth_time": int(now.timestamp()), "created_at": now,
                "expires_at": expires},
               {"token_hash": secrets.token_hex(32), "grant_id": grant_id, "created_at": now, "expires_at": expires})


def consent_rows(count: int, subject_ids: Sequence[str], clients: Sequence[str],
                 now: datetime) -> Iterator[dict[str, Any]]:
    """``count`` consents: each of the first people to each client in turn."""
    for n in range(count):
        yield {"subject_id": subject_ids[n // len(clients)], "client_id": clients[n % len(clients)],
               "scopes": ["openid", "profile"], "claims": [], "version": 1, "granted_at": now}


def fill_state(db: Database, clients: Sequence[str], *, people_count: int, token_count: int,
               consent_count: int) -> None:
    """People with links, grants with live refresh tokens, consents (PostgreSQL), then ANALYZE."""
    if consent_count > people_count * len(clients):
        raise ValueError("more consents than (person, client) pairs")
    now = datetime.now(UTC)
    with db.engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        pairs = list(people(people_count, now))
        copy_rows(driver, subjects, (subject for subject, _ in pairs))
        copy_rows(driver, identity_links, (link for _, link in pairs))
        subject_ids = [subject["id"] for subject, _ in pairs]
        driver.commit()
        for first in range(0, token_count, 50_000):
            chunk = list(live_tokens(min(50_000, token_count - first), subject_ids, clients, now))
            copy_rows(driver, grants, (grant for grant, _ in chunk))
            copy_rows(driver, refresh_tokens, (token for _, token in chunk))
            driver.commit()
        copy_rows(driver, consents, consent_rows(consent_count, subject_ids, clients, now))
        driver.commit()
    with db.connect() as conn:
        for table in (subjects, identity_links, grants, refresh_tokens, consents):
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {table.name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", required=True, help="comma-separated client ids the grants and consents name")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the issue's counts (0 < scale <= 1)")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("scale must be in (0, 1]")
    clients = [c for c in args.clients.split(",") if c]
    events, people_count, token_count, consent_count = (max(1, int(n * args.scale))
                                                        for n in (EVENTS, PEOPLE, REFRESH_TOKENS, CONSENTS))
    consent_count = min(consent_count, people_count * len(clients))

    from idp.audit.setup import attach_key_ring, open_audit_log
    from idp.runtime import open_storage
    from idp.settings import load_settings
    from keys.ring import open_key_ring

    settings = load_settings()
    storage = open_storage(settings)
    began = time.perf_counter()
    try:
        if storage.db.dialect != "postgresql":
            parser.error("the preload writes with PostgreSQL COPY")
        fill_state(storage.db, clients, people_count=people_count, token_count=token_count,
                   consent_count=consent_count)
        log = open_audit_log(settings, storage.db)
        attach_key_ring(log, open_key_ring(settings, storage, log), settings)
        fill_audit_events(log, events)
    finally:
        storage.close()
    print(f"preloaded {events} audit events, {people_count} people with identity links, {token_count} live "
          f"refresh tokens, {consent_count} consents in {time.perf_counter() - began:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
