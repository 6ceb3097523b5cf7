"""``idp users add|list``: local accounts (officials, the demo)."""

from __future__ import annotations

import argparse

from idp.accounts.service import create_local_account
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
    add.set_defaults(handler=_add)
    sub.add_parser("list", help="list local accounts").set_defaults(handler=_list)


def _add(args: argparse.Namespace) -> int:
    password = read_stdin_secret("password")
    storage = storage_from_env()
    try:
        account = create_local_account(
            storage, args.username, password, name=args.name, email=args.email, phone=args.phone,
            actor=operator_name(),
        )
    finally:
        storage.close()
    print_json({"username": account.username, "name": account.name, "email": account.email})
    return 0


def _list(_args: argparse.Namespace) -> int:
    storage = storage_from_env()
    try:
        rows = [
            {"username": a.username, "name": a.name, "email": a.email, "disabled": a.disabled}
            for a in storage.accounts.list()
        ]
    finally:
        storage.close()
    print_json(rows)
    return 0
