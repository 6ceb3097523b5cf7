"""``idp accounts unlock USERNAME``: lift a sign-in lock (after too many failed attempts).

Locks live in the short-lived store. With Redis (``IDP_REDIS_URL``) this command reaches the same
store as every server replica; with the embedded in-process store the lock lives inside the
server process, so the command refuses rather than pretend it unlocked anything.

Failures are counted under the account's canonical name when a source can resolve what was typed
(a directory's ``uid`` / ``sAMAccountName``: every name of one account shares one counter), so the
command asks each configured source for the canonical name of what the operator typed and lifts
the lock under each name found, as well as under the name as typed.
"""

from __future__ import annotations

import argparse

from adapters.base import AdapterError, lockout_key
from adapters.registry import load_adapters
from idp.audit.setup import open_audit_log
from idp.cli.common import print_json
from idp.errors import IdpError
from idp.runtime import open_storage
from idp.security.throttle import Throttle
from idp.settings import Settings, load_settings
from idp.storage.ephemeral import EphemeralStore, open_ephemeral_store
from idp.storage.sql import SqlStorage
from idp.storage.sql.account_locks import SqlAccountLocks


class UnlockImpossible(IdpError):
    """The locks are not reachable from this process."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        names = _lock_names(settings, storage, store, args.username.strip())
        audit = open_audit_log(settings, storage.db)
        throttle = Throttle.from_settings(settings, store, audit, locks=SqlAccountLocks(storage.db))
        with storage.db.transaction():
            was_locked = any([throttle.unlock(name, by="idp accounts unlock") for name in names])
    finally:
        storage.close()
    print_json({"username": args.username.strip(), "was_locked": was_locked, "names": names})
    return 0


def _lock_names(settings: Settings, storage: SqlStorage, store: EphemeralStore, username: str) -> list[str]:
    """The name as typed and every canonical name a configured source resolves it to (a source
    that cannot be reached is skipped: the name as typed is still unlocked)."""
    names = [username]
    adapters = load_adapters(settings, storage=storage, ephemeral=store)
    try:
        for entry in adapters.entries:
            try:
                name = lockout_key(entry.adapter, username)
            except AdapterError:
                continue
            if name not in names:
                names.append(name)
    finally:
        adapters.close()
    return names
