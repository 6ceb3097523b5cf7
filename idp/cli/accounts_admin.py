"""``idp accounts unlock USERNAME``: lift a sign-in lock (after too many failed attempts).

Locks live in the short-lived store. With Redis (``IDP_REDIS_URL``) this command reaches the same
store as every server replica; with the embedded in-process store the lock lives inside the
server process, so the command refuses rather than pretend it unlocked anything.
"""

from __future__ import annotations

import argparse

from idp.audit.setup import open_audit_log
from idp.cli.common import print_json
from idp.errors import IdpError
from idp.runtime import open_storage
from idp.security.throttle import Throttle
from idp.settings import load_settings
from idp.storage.ephemeral import open_ephemeral_store


class UnlockImpossible(IdpError):
    """The locks are not reachable from this process."""


def register(subparsers: argparse._SubParsersAction) -> None:
    accounts = subparsers.add_parser("accounts", help="sign-in locks of accounts")
    sub = accounts.add_subparsers(dest="accounts_command", metavar="ACTION", required=True)
    unlock = sub.add_parser("unlock", help="lift the lock after too many failed sign-ins")
    unlock.add_argument("username", help="the username as people type it (local or directory account)")
    unlock.set_defaults(handler=_unlock)


def _unlock(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.redis_url:
        raise UnlockImpossible(
            "locks are kept inside the server process when IDP_REDIS_URL is unset; "
            "restart the server to clear them"
        )
    store = open_ephemeral_store(settings.redis_url, settings.redis_prefix)
    storage = open_storage(settings)
    try:
        audit = open_audit_log(settings, storage.db)
        with storage.db.transaction():
            was_locked = Throttle.from_settings(settings, store, audit).unlock(args.username, by="idp accounts unlock")
    finally:
        storage.close()
    print_json({"username": args.username.strip(), "was_locked": was_locked})
    return 0
