"""``idp users add|list|grant-role|revoke-role|disable|enable|reset-password|reset-mfa``: local
accounts (officials, security staff, the demo). Changes are recorded with the operator's name
(``--operator``, else ``IDP_OPERATOR``); see :mod:`idp.accounts.administration`."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from adapters.base import AccountFinder
from adapters.registry import load_adapters
from idp.accounts.administration import AccountAdministration, account_view
from idp.accounts.service import ROLES, create_local_account, set_role
from idp.audit.setup import open_audit_log
from idp.cli.common import add_operator_argument, operator_of, print_json, read_stdin_secret, storage_from_env
from idp.cli.sessions import person_revocation
from idp.mfa.reset import FactorsReset, SecondFactorReset
from idp.settings import load_settings
from idp.storage.ephemeral import open_ephemeral_store
from idp.storage.sql import SqlStorage


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    add_operator_argument(add)
    add.set_defaults(handler=_add)
    sub.add_parser("list", help="list local accounts").set_defaults(handler=_list)
    for action, granted in (("grant-role", True), ("revoke-role", False)):
        change = sub.add_parser(action, help=f"{'grant' if granted else 'take back'} a role of a local account")
        change.add_argument("username")
        change.add_argument("role", choices=ROLES)
        add_operator_argument(change)
        change.set_defaults(handler=_role_change, granted=granted)
    for action, enabled in (("disable", False), ("enable", True)):
        toggle = sub.add_parser(action, help="the account can no longer sign in" if not enabled
                                else "let a disabled account sign in again")
        toggle.add_argument("username")
        add_operator_argument(toggle)
        toggle.set_defaults(handler=_set_enabled, enabled=enabled)
    reset = sub.add_parser("reset-password", help="set a new password (printed once when generated)")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read the new password from stdin")
    add_operator_argument(reset)
    reset.set_defaults(handler=_reset_password)
    mfa = sub.add_parser("reset-mfa", help="remove a person's two-step verification: TOTP, recovery codes and "
                         "passkeys (they enrol again)")
    mfa.add_argument("username", help="a local username, a directory username or a person's subject id")
    add_operator_argument(mfa)
    mfa.set_defaults(handler=_reset_mfa)


def _add(args: argparse.Namespace) -> int:
    password = read_stdin_secret("password")
    storage = storage_from_env()
    try:
        account = create_local_account(
            storage, args.username, password, name=args.name, email=args.email, phone=args.phone,
            actor=operator_of(args),
        )
        for role in args.role:
            account = set_role(storage, account.username, role, granted=True, actor=operator_of(args))
    finally:
        storage.close()
    print_json({"username": account.username, "name": account.name, "email": account.email,
                "roles": account.extra.get("roles", [])})
    return 0


def _role_change(args: argparse.Namespace) -> int:
    storage = storage_from_env()
    try:
        account = set_role(storage, args.username, args.role, granted=args.granted, actor=operator_of(args))
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


def _set_enabled(args: argparse.Namespace) -> int:
    """Enable or disable; a disabled account's grants are revoked too, and with IDP_REDIS_URL its
    sessions and access tokens end (without it they live in the server process: say so)."""
    settings = load_settings()
    storage = storage_from_env()
    try:
        change = AccountAdministration(storage).set_enabled(args.username, args.enabled, actor=operator_of(args))
        body: dict[str, Any] = account_view(change.after)
        if not args.enabled:
            revoked = person_revocation(settings, storage).revoke_all(change.after.subject_id,
                                                                      actor=operator_of(args))
            body |= {"grants_revoked": revoked.grants,
                     "sessions_ended": revoked.sessions if settings.redis_url else None}
    finally:
        storage.close()
    if not args.enabled and not settings.redis_url:
        print("idp: without IDP_REDIS_URL the account's sessions end at their timeout (or use the admin API: "
              "POST /admin/people/PERSON/revoke)", file=sys.stderr)
    print_json(body)
    return 0


def _reset_password(args: argparse.Namespace) -> int:
    password = read_stdin_secret("password") if args.password_stdin else None
    storage = storage_from_env()
    try:
        change = AccountAdministration(storage).reset_password(args.username, password=password,
                                                               actor=operator_of(args))
    finally:
        storage.close()
    body = account_view(change.after)
    if change.password is not None:
        body["password"] = change.password
    print_json(body)
    return 0


def _reset_mfa(args: argparse.Namespace) -> int:
    """A local account's factors as before (its view is printed); anyone else's (a directory
    official, found by asking the configured directories, or an upstream person) through
    :class:`idp.mfa.reset.SecondFactorReset` (what was removed is printed)."""
    storage = storage_from_env()
    try:
        if storage.accounts.get_by_username(args.username.strip().lower()) is not None:
            change = AccountAdministration(storage).reset_second_factor(args.username, actor=operator_of(args))
            print_json(account_view(change.after))
            return 0
        made = _person_factors_reset(args, storage)
    finally:
        storage.close()
    print_json(dataclasses.asdict(made))
    return 0


def _person_factors_reset(args: argparse.Namespace, storage: SqlStorage) -> FactorsReset:
    settings = load_settings()
    adapters = load_adapters(settings, storage=storage,
                             ephemeral=open_ephemeral_store(settings.redis_url, settings.redis_prefix))
    try:
        reset = SecondFactorReset(storage, open_audit_log(settings, storage.db), directories=[
            (e.id, e.adapter) for e in adapters.entries if isinstance(e.adapter, AccountFinder)])
        return reset.reset(reset.person(args.username).id, actor=operator_of(args))
    finally:
        adapters.close()
