"""``idp audit verify|export|prune|checkpoint|trust export``: the security audit trail.

``verify`` trusts only keys pinned outside the database: the key ring's own key store by default,
or the files of ``--trust`` (written by ``trust export``) on a machine without it."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from idp.audit.events import AuditEvent
from idp.audit.export import FORMATS, render
from idp.audit.external import read_external_copy
from idp.audit.prune import prune_before
from idp.audit.query import AuditQuery, iter_matching
from idp.audit.setup import (
    attach_key_ring,
    checkpoint_verifier,
    keystore_trusted_keys,
    open_audit_log,
    parse_time,
)
from idp.audit.sql import SqlAuditLog, lock_head
from idp.audit.trust import trust_document
from idp.audit.types import ADMIN_ACTION
from idp.audit.verify import verify_chain
from idp.cli.common import add_operator_argument, operator_of
from idp.cli.progress import Progress
from idp.errors import IdpError
from idp.runtime import open_storage
from idp.settings import Settings, load_settings
from idp.storage.sql import SqlStorage


class AuditChainBroken(IdpError):
    """``idp audit verify`` found the first altered, removed or reordered event."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser("audit", help="security audit trail: verify, export, prune")
    sub = group.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser("verify", help="check the hash chain and the signed checkpoints against pinned keys")
    verify.add_argument("--trust", action="append", type=Path, default=[], metavar="FILE",
                        help="trust only the keys of this file from `idp audit trust export` (repeatable); "
                        "default: the key ring's own key store (KEK or HSM)")
    verify.add_argument("--checkpoints", type=Path, metavar="FILE",
                        help="the SIEM's copy of the signed checkpoints, to compare the database with")
    verify.set_defaults(handler=_verify)

    trust = sub.add_parser("trust", help="the public keys checkpoints may be signed with")
    trust_sub = trust.add_subparsers(dest="trust_command", metavar="ACTION", required=True)
    trust_export = trust_sub.add_parser("export", help="write the key store's public keys (retired ones too) "
                                        "for `idp audit verify --trust`")
    trust_export.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    trust_export.set_defaults(handler=_trust_export)

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
    add_operator_argument(prune)
    prune.set_defaults(handler=_prune)

    checkpoint = sub.add_parser("checkpoint", help="sign a checkpoint of the chain head now")
    add_operator_argument(checkpoint)
    checkpoint.set_defaults(handler=_checkpoint)


def _verify(args: argparse.Namespace) -> int:
    external = read_external_copy(args.checkpoints) if args.checkpoints else []
    settings = load_settings()
    storage = open_storage(settings)
    try:
        verifier = checkpoint_verifier(settings, storage, args.trust)
        progress = Progress("audit verify: event")
        report = verify_chain(storage.db, verifier, external, progress,
                              link_alarm_seconds=settings.audit_link_alarm_seconds)
        progress.finish()
    finally:
        storage.close()
    if report.problem is not None:
        raise AuditChainBroken(str(report.problem))
    span = f"seq {report.first_seq}..{report.last_seq}" if report.events else "no events"
    line = (f"ok: {report.events} events ({span}), {report.checkpoints} signed checkpoints verified "
            f"with the keys of {verifier.source}")
    if args.checkpoints:
        line += f"; {report.external_checked} checkpoints of the external copy match"
    print(line)
    for kid, why in verifier.unpinned().items():
        print(f"idp: cảnh báo / warning: key {kid[:64]!r} is in the database but {verifier.source} does not pin it"
              f"{f' ({why})' if why else ''}; it signed none of these checkpoints", file=sys.stderr)
    return 0


def _trust_export(args: argparse.Namespace) -> int:
    settings = load_settings()
    storage = open_storage(settings)
    try:
        keys, unpinned = keystore_trusted_keys(settings, storage)
    finally:
        storage.close()
    for kid, why in sorted(unpinned.items()):
        print(f"idp: cảnh báo / warning: key {kid[:64]!r} not exported: {why}", file=sys.stderr)
    if not keys:
        raise IdpError("không có khóa nào để xuất / no key opens in the key store: nothing to export")
    text = json.dumps(trust_document(keys, issuer=settings.issuer), indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {len(keys)} public keys to {args.output}")
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
        progress = Progress("audit export: events written")
        for done, line in enumerate(render(iter_matching(storage.db, query), args.format), start=1):
            out.write(line)
            progress(done)
        progress.finish()
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
        result = prune_before(_signing_log(settings, storage), before, actor=operator_of(args))
    finally:
        storage.close()
    if not result.through_seq:
        print("nothing to prune")
    else:
        print(f"pruned {result.deleted} events through seq {result.through_seq}")
    return 0


def _checkpoint(args: argparse.Namespace) -> int:
    settings = load_settings()
    storage = open_storage(settings)
    try:
        log = _signing_log(settings, storage)
        assert log.checkpointer is not None
        with storage.db.transaction() as conn:
            log.record(AuditEvent(type=ADMIN_ACTION, username=operator_of(args),
                                  details={"action": "audit.checkpoint"}))
            seq, chain_hash = lock_head(conn)
            log.checkpointer.write(conn, seq, chain_hash)
    finally:
        storage.close()
    print(f"signed checkpoint at seq {seq}")
    return 0
