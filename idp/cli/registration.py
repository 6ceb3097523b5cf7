"""``idp registration token``: initial access tokens for dynamic client registration (RFC 7591 §3)."""

from __future__ import annotations

import argparse
from datetime import timedelta

from idp.audit.context import operator_name
from idp.audit.events import AuditEvent
from idp.audit.sql import SqlAuditLog
from idp.cli.common import print_json, storage_from_env
from idp.specs.rfc7591_registration import InitialAccessTokens


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("registration", help="dynamic client registration")
    sub = group.add_subparsers(dest="registration_command", metavar="ACTION", required=True)
    token = sub.add_parser("token", help="issue an initial access token (printed once; stored hashed)")
    token.add_argument("--label", required=True, help="who or what the token is for (kept in the audit trail)")
    token.add_argument("--uses", type=int, default=1, help="how many registrations it allows (default 1)")
    token.add_argument("--ttl-hours", type=float, default=24.0, help="lifetime in hours (default 24)")
    token.set_defaults(handler=_token)


def _token(args: argparse.Namespace) -> int:
    if not 1 <= args.uses <= 1000:
        raise ValueError("--uses must be between 1 and 1000")
    if not 0 < args.ttl_hours <= 24 * 90:
        raise ValueError("--ttl-hours must be more than 0 and at most 2160 (90 days)")
    if not args.label.strip() or len(args.label) > 255:
        raise ValueError("--label must be 1-255 characters")
    storage = storage_from_env()
    try:
        value = InitialAccessTokens(storage.db).issue(args.label, uses=args.uses,
                                                      ttl=timedelta(hours=args.ttl_hours))
        SqlAuditLog(storage.db).record(AuditEvent(type="admin.action", details={
            "action": "registration.token_issued", "label": args.label, "uses": args.uses,
            "actor": operator_name()}))
    finally:
        storage.close()
    print_json({"initial_access_token": value, "label": args.label, "uses": args.uses,
                "expires_in": int(args.ttl_hours * 3600)})
    return 0
