"""Opening the audit trail's parts from settings (used by the runtime and the ``idp audit`` command)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from idp.audit.checkpoints import Checkpointer, keyring_checkpointer
from idp.audit.forwarding import AuditForwarder
from idp.audit.siem import open_sender
from idp.audit.sql import EventObserver, SqlAuditLog
from idp.audit.trust import PinnedVerifier, TrustedKey, read_trust_file
from idp.settings import Settings
from idp.storage.db import Database
from idp.storage.sql import SqlStorage


def open_audit_log(settings: Settings, db: Database, checkpointer: Checkpointer | None = None, *,
                   observer: EventObserver | None = None) -> SqlAuditLog:
    """The SQL audit log with the configured address truncation, checkpoint and head intervals;
    ``observer`` sees every event written (the server's logs and metrics).

    The key ring needs an audit log to open, so the usual order is: ``log = open_audit_log(...)``,
    ``ring = open_key_ring(settings, storage, log)``, then ``attach_key_ring(log, ring, settings)``.
    """
    return SqlAuditLog(db, ip_truncation=settings.audit_ip_truncation, checkpointer=checkpointer,
                       checkpoint_interval=settings.audit_checkpoint_interval,
                       head_interval=settings.audit_head_interval_seconds, observer=observer)


def attach_key_ring(log: SqlAuditLog, ring: Any, settings: Settings) -> None:
    """Let the log sign checkpoints with the ring's current key."""
    log.checkpointer = keyring_checkpointer(ring, issuer=settings.issuer)


def keystore_trusted_keys(settings: Settings, storage: SqlStorage) -> tuple[list[TrustedKey], dict[str, str]]:
    """The keys the key ring's own key store pins (public JWKs derived from the KEK-sealed or HSM
    private keys, never the rows' ``public_jwk``), and kid -> why for the rows it does not pin."""
    from keys.pinned import keystore_view

    view = keystore_view(settings, storage.keys.list())
    return [TrustedKey.from_record(record, jwk) for record, jwk in view.pinned], view.unpinned


def checkpoint_verifier(settings: Settings, storage: SqlStorage, trust_files: Sequence[Path] = ()) -> PinnedVerifier:
    """Verifies checkpoints with pinned keys only (see :mod:`idp.audit.trust`): those of the trust
    files when any is given (security staff on another machine), else the key store's."""
    database_kids = [record.kid for record in storage.keys.list()]
    if trust_files:
        keys = [key for path in trust_files for key in read_trust_file(path)]
        source = "the trust file" if len(trust_files) == 1 else "the trust files"
        return PinnedVerifier(keys, source=source, database_kids=database_kids)
    pinned, unpinned = keystore_trusted_keys(settings, storage)
    return PinnedVerifier(pinned, source="the key store", database_kids=database_kids, unpinned_reasons=unpinned)


def open_forwarder(settings: Settings, db: Database) -> AuditForwarder | None:
    """The SIEM forwarder when ``IDP_AUDIT_SIEM_URL`` is set (call ``start()``/``stop()``)."""
    if not settings.audit_siem_url:
        return None
    return AuditForwarder(db, open_sender(settings.audit_siem_url), batch=settings.audit_siem_batch,
                          interval=settings.audit_siem_interval_seconds)


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """An ISO date or date-time (UTC unless it carries an offset), or an age such as ``30d``/``12h``."""
    text = text.strip()
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if len(text) > 1 and text[-1] in units and text[:-1].isdigit():
        return (now or datetime.now(UTC)) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"thời điểm không hợp lệ / invalid time {text[:40]!r}: use 2025-06-30, 2025-06-30T08:00+07:00 or 30d"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
