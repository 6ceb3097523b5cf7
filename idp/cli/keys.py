"""``idp keys list|rotate|retire``: the signing-key ring (see keys.schedule for the states)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from idp.admin.keys import key_rows
from idp.audit.setup import attach_key_ring, open_audit_log
from idp.cli.common import add_operator_argument, operator_of, print_json
from idp.runtime import open_storage
from idp.settings import Settings, load_settings
from idp.storage.sql import SqlStorage
from keys.ring import KeyRing, open_key_ring
from keys.schedule import KeySchedule
from keys.signer import DEFAULT_ALGORITHM, SUPPORTED_ALGORITHMS


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser("keys", help="signing keys: list, rotate, retire")
    sub = group.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="every signing key with its state and publication").set_defaults(handler=_list)
    rotate = sub.add_parser("rotate", help="next key -> current, current -> retired, publish a new next key")
    rotate.add_argument("--alg", default=DEFAULT_ALGORITHM, choices=SUPPORTED_ALGORITHMS)
    rotate.add_argument(
        "--force", action="store_true",
        help="promote the next key even if JWKS caches may not have seen it yet (relying parties may fail)",
    )
    add_operator_argument(rotate)
    rotate.set_defaults(handler=_rotate)
    retire = sub.add_parser("retire", help="remove a key from the JWKS now (a current key is replaced first)")
    retire.add_argument("kid")
    add_operator_argument(retire)
    retire.set_defaults(handler=_retire)


def _open_ring(settings: Settings, storage: SqlStorage) -> KeyRing:
    """The key ring with the audit log the server uses (rotations are audited like any change)."""
    log = open_audit_log(settings, storage.db)
    ring = open_key_ring(settings, storage, log)
    attach_key_ring(log, ring, settings)
    return ring


def _list(_args: argparse.Namespace) -> int:
    settings = load_settings()
    schedule = KeySchedule.from_settings(settings)
    storage = open_storage(settings)
    try:
        records = storage.keys.list()
    finally:
        storage.close()
    print_json(key_rows(records, schedule, datetime.now(UTC)))
    return 0


def _rotate(args: argparse.Namespace) -> int:
    settings = load_settings()
    storage = open_storage(settings)
    try:
        rotation = _open_ring(settings, storage).lifecycle.rotate(args.alg, force=args.force, actor=operator_of(args))
    finally:
        storage.close()
    print_json({"alg": rotation.alg, "current": rotation.current, "retired": rotation.retired,
                "next": rotation.next})
    return 0


def _retire(args: argparse.Namespace) -> int:
    settings = load_settings()
    storage = open_storage(settings)
    try:
        record = _open_ring(settings, storage).lifecycle.retire(args.kid, actor=operator_of(args))
    finally:
        storage.close()
    print_json({"kid": record.kid, "alg": record.alg, "state": record.state})
    return 0
