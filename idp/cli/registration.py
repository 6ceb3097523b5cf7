"""``idp registration token``: initial access tokens for dynamic client registration (RFC 7591 §3)."""

from __future__ import annotations

import argparse
from datetime import timedelta

from idp.audit.events import AuditEvent
from idp.audit.sql import SqlAuditLog
from idp.cli.common import add_operator_argument, operator_of, print_json, storage_from_env
from idp.specs.profile import is_restricted_scope
from idp.specs.rfc7591_registration import PUBLIC_SUBJECT, SCOPE_ALLOWANCE, InitialAccessTokens


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser("registration", help="dynamic client registration")
    sub = group.add_subparsers(dest="registration_command", metavar="ACTION", required=True)
    token = sub.add_parser("token", help="issue an initial access token (printed once; stored hashed)")
    token.add_argument("--label", required=True, help="who or what the token is for (kept in the audit trail)")
    token.add_argument("--uses", type=int, default=1, help="how many registrations it allows (default 1)")
    token.add_argument("--ttl-hours", type=float, default=24.0, help="lifetime in hours (default 24)")
    token.add_argument("--allow-scope", action="append", default=[], metavar="SCOPE", dest="allow_scopes",
                       help="a restricted vn_* scope its clients may register (they must use the strict profile)")
    token.add_argument("--allow-public-subject", action="store_true",
                       help="its clients may register subject_type public (pairwise otherwise)")
    add_operator_argument(token)
    token.set_defaults(handler=_token)


def _token(args: argparse.Namespace) -> int:
    if not 1 <= args.uses <= 1000:
        raise ValueError("--uses must be between 1 and 1000")
    if not 0 < args.ttl_hours <= 24 * 90:
        raise ValueError("--ttl-hours must be more than 0 and at most 2160 (90 days)")
    if not args.label.strip() or len(args.label) > 255:
        raise ValueError("--label must be 1-255 characters")
    unrestricted = [s for s in args.allow_scopes if not is_restricted_scope(s)]
    if unrestricted:
        raise ValueError(f"--allow-scope takes restricted vn_* scopes only, not {unrestricted[0]!r}")
    allows = tuple(SCOPE_ALLOWANCE + s for s in args.allow_scopes) + ((PUBLIC_SUBJECT,) if args.allow_public_subject
                                                                     else ())
    storage = storage_from_env()
    try:
        value = InitialAccessTokens(storage.db).issue(args.label, uses=args.uses,
                                                      ttl=timedelta(hours=args.ttl_hours), allows=allows)
        SqlAuditLog(storage.db).record(AuditEvent(type="admin.action", details={
            "action": "registration.token_issued", "label": args.label, "uses": args.uses,
            "allows": list(allows), "actor": operator_of(args)}))
    finally:
        storage.close()
    print_json({"initial_access_token": value, "label": args.label, "uses": args.uses,
                "expires_in": int(args.ttl_hours * 3600), "allows": list(allows)})
    return 0
