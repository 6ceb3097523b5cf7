"""``idp db upgrade``."""

from __future__ import annotations

import argparse

from idp.cli.common import storage_from_env
from idp.cli.progress import migration_steps
from idp.storage.migrate import current_revision


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = subparsers.add_parser("db", help="database schema")
    sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = sub.add_parser("upgrade", help="bring the schema up to date")
    upgrade.set_defaults(handler=_upgrade)


def _upgrade(_args: argparse.Namespace) -> int:
    with migration_steps():
        storage = storage_from_env(migrate=True)
    try:
        print(f"database schema at revision {current_revision(storage.db.engine)}")
    finally:
        storage.close()
    return 0
