"""``idp audit verify|export|prune|checkpoint``: the security audit trail."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from typing import TextIO

from idp.audit.context import operator_name
from idp.audit.events import AuditEvent
from idp.audit.export import FORMATS, render
from idp.audit.prune import prune_before
from idp.audit.query import AuditQuery, iter_matching
from idp.audit.setup import attach_key_ring, checkpoint_verifier, open_audit_log, parse_time
from idp.audit.sql import SqlAuditLog, lock_head
from idp.audit.types import ADMIN_ACTION
from idp.audit.verify import verify_chain
from idp.errors import IdpError
from idp.runtime import open_storage
from idp.settings import Settings, load_settings
from idp.storage.sql import SqlStorage


class AuditChainBroken(IdpError):
    """``idp audit verify`` found the first altered, removed or reordered event."""


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("audit", help="security audit trail: verify, export, prune")
    sub = group.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    sub.add_parser("verify", help="check the hash chain and the signed checkpoints").set_defaults(handler=_verify)

    export = sub.add_parser("export", help="write events as JSON Lines, CSV or CEF")
    export.add_argument("--since", help="ISO date/time (UTC unless an offset is given) or an age like 7d")
    export.add_argument("--until", help="ISO date/time or age; events before it")
    export.add_argument("--format", choices=FORMATS, default="jsonl")
    export.add_argument("--type", help="event type, or a prefix like token.*")
    export.add_argument("--subject")
    export.add_argument("--username")
    export.add_argument("--client-id")
    export.add_argument("--ip")
    export.add_argument("--outcome", choices=("success", "failure", "denied"))
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.set_defaults(handler=_export)

    prune = sub.add_parser("prune", help="delete events older than a time, from a signed checkpoint")
    prune.add_argument("--before", required=True, help="ISO date/time or an age like 365d")
    prune.set_defaults(handler=_prune)

    sub.add_parser("checkpoint", help="sign a checkpoint of the chain head now").set_defaults(handler=_checkpoint)


def _verify(_args: argparse.Namespace) -> int:
    storage = open_storage(load_settings())
    try:
        report = verify_chain(storage.db, checkpoint_verifier(storage))
    finally:
        storage.close()
    if report.problem is not None:
        raise AuditChainBroken(str(report.problem))
    span = f"seq {report.first_seq}..{report.last_seq}" if report.events else "no events"
    print(f"ok: {report.events} events ({span}), {report.checkpoints} signed checkpoints verified")
    return 0


def _export(args: argparse.Namespace) -> int:
    query = AuditQuery(
        since=parse_time(args.since) if args.since else None,
        until=parse_time(args.until) if args.until else None,
        type=args.type, subject=args.subject, username=args.username, client_id=args.client_id,
        ip=args.ip, outcome=args.outcome,
    )
    storage = open_storage(load_settings())
    with ExitStack() as stack:
        stack.callback(storage.close)
        out: TextIO = sys.stdout
        if args.output:
            out = stack.enter_context(open(args.output, "w", encoding="utf-8", newline=""))
        for line in render(iter_matching(storage.db, query), args.format):
            out.write(line)
    return 0


def _signing_log(settings: Settings, storage: SqlStorage) -> SqlAuditLog:
    from keys.ring import open_key_ring

    log = open_audit_log(settings, storage.db)
    attach_key_ring(log, open_key_ring(settings, storage, log), settings)
    return log


def _prune(args: argparse.Namespace) -> int:
    before = parse_time(args.before)
    settings = load_settings()
    storage = open_storage(settings)
    try:
        result = prune_before(_signing_log(settings, storage), before, actor=operator_name())
    finally:
        storage.close()
    if not result.through_seq:
        print("nothing to prune")
    else:
        print(f"pruned {result.deleted} events through seq {result.through_seq}")
    return 0


def _checkpoint(_args: argparse.Namespace) -> int:
    settings = load_settings()
    storage = open_storage(settings)
    try:
        log = _signing_log(settings, storage)
        assert log.checkpointer is not None
        with storage.db.transaction() as conn:
            log.record(AuditEvent(type=ADMIN_ACTION, username=operator_name(), details={"action": "audit.checkpoint"}))
            seq, chain_hash = lock_head(conn)
            log.checkpointer.write(conn, seq, chain_hash)
    finally:
        storage.close()
    print(f"signed checkpoint at seq {seq}")
    return 0
