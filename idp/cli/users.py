"""``idp users add|list|grant-role|revoke-role``: local accounts (officials, security staff, the demo)."""

from __future__ import annotations

import argparse

from idp.accounts.service import ROLES, create_local_account, set_role
from idp.audit.context import operator_name
from idp.cli.common import print_json, read_stdin_secret, storage_from_env


def register(subparsers: argparse._SubParsersAction) -> None:
    users = subparsers.add_parser("users", help="local accounts")
    sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create a local account")
    add.add_argument("username")
    add.add_argument("--password-stdin", action="store_true", required=True)
    add.add_argument("--name")
    add.add_argument("--email")
    add.add_argument("--phone")
    add.add_argument("--role", action="append", choices=ROLES, default=[],
                     help="a role to grant at once (auditor: the security console and audit API)")
    add.set_defaults(handler=_add)
    sub.add_parser("list", help="list local accounts").set_defaults(handler=_list)
    for action, granted in (("grant-role", True), ("revoke-role", False)):
        change = sub.add_parser(action, help=f"{'grant' if granted else 'take back'} a role of a local account")
        change.add_argument("username")
        change.add_argument("role", choices=ROLES)
        change.set_defaults(handler=_role_change, granted=granted)


def _add(args: argparse.Namespace) -> int:
    password = read_stdin_secret("password")
    storage = storage_from_env()
    try:
        account = create_local_account(
            storage, args.username, password, name=args.name, email=args.email, phone=args.phone,
            actor=operator_name(),
        )
        for role in args.role:
            account = set_role(storage, account.username, role, granted=True, actor=operator_name())
    finally:
        storage.close()
    print_json({"username": account.username, "name": account.name, "email": account.email,
                "roles": account.extra.get("roles", [])})
    return 0


def _role_change(args: argparse.Namespace) -> int:
    storage = storage_from_env()
    try:
        account = set_role(storage, args.username, args.role, granted=args.granted, actor=operator_name())
    finally:
        storage.close()
    print_json({"username": account.username, "roles": account.extra.get("roles", [])})
    return 0


def _list(_args: argparse.Namespace) -> int:
    storage = storage_from_env()
    try:
        rows = [
            {"username": a.username, "name": a.name, "email": a.email, "disabled": a.disabled,
             **({"roles": a.extra["roles"]} if a.extra.get("roles") else {})}
            for a in storage.accounts.list()
        ]
    finally:
        storage.close()
    print_json(rows)
    return 0
