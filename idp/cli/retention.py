"""``idp retention apply [--execute]``: apply the retention periods (IDP_AUDIT_RETENTION_DAYS,
IDP_INACTIVE_ACCOUNT_RETENTION_DAYS; idp.accounts.retention). A dry run by default: it says what
would be pruned and erased; ``--execute`` does it."""

from __future__ import annotations

import argparse

from idp.accounts.retention import apply, plan
from idp.audit.chain import format_time
from idp.cli.audit import _signing_log
from idp.cli.common import add_operator_argument, operator_of
from idp.runtime import open_storage
from idp.settings import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser("retention", help="retention periods of the audit trail and inactive people")
    sub = group.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    applying = sub.add_parser("apply", help="prune old audit events and erase inactive people (dry run by default)")
    applying.add_argument("--execute", action="store_true", help="do it (without: only say what would be done)")
    add_operator_argument(applying)
    applying.set_defaults(handler=_apply)


def _apply(args: argparse.Namespace) -> int:
    settings = load_settings()
    storage = open_storage(settings)
    try:
        planned = plan(settings, storage)
        verb = "" if args.execute else "would be "
        if planned.audit_before is None:
            print("audit trail: no retention period (IDP_AUDIT_RETENTION_DAYS=0)")
        else:
            print(f"audit trail: {planned.audit_events} events before {format_time(planned.audit_before)} "
                  f"{verb}pruned (from the newest signed checkpoint among them)")
        if planned.inactive_before is None:
            print("people: no retention period (IDP_INACTIVE_ACCOUNT_RETENTION_DAYS=0)")
        else:
            print(f"people: {len(planned.inactive_subjects)} without a sign-in since "
                  f"{format_time(planned.inactive_before)} {verb}erased")
        if not args.execute:
            print("dry run: nothing changed (--execute to apply)")
            return 0
        result = apply(planned, storage, _signing_log(settings, storage), actor=operator_of(args))
        if result is not None:
            print(f"audit trail: pruned {result.deleted} events through seq {result.through_seq}")
    finally:
        storage.close()
    return 0
