"""The ``idp`` command. A contract for operators and scripts: exit 0 on success, 2 on a usage
error (argparse), 1 on a failure with one readable line on stderr and nothing half-written.

Each command group lives in its own module and registers itself through ``register(subparsers)``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import psycopg
from sqlalchemy.exc import SQLAlchemyError

from idp.cli import (
    accounts_admin,
    audit,
    clients,
    db,
    kek,
    keys,
    policies,
    registration,
    report,
    retention,
    sandbox,
    serve,
    sessions,
    settings_reference,
    trust,
    users,
)
from idp.errors import IdpError
from idp.runtime import describe_db_error
from idp.settings import SettingsError

GROUPS = [serve, db, clients, users, keys, kek, policies, audit, report, accounts_admin, sandbox, settings_reference,
          registration, sessions, trust, retention]


class CommandFailed(IdpError):
    """A command could not do its work; the message is the one line shown to the operator."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="idp", description="Provincial OpenID Connect identity provider")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in GROUPS:
        group.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
    except (CommandFailed, SettingsError, IdpError, ValueError) as exc:
        print(f"idp: {exc}", file=sys.stderr)
        return 1
    except (SQLAlchemyError, psycopg.Error) as exc:  # lost, or past IDP_DATABASE_COMMAND_STATEMENT_TIMEOUT_SECONDS
        print(f"idp: cơ sở dữ liệu không trả lời / the database did not answer ({describe_db_error(exc)})",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `idp ... | head`: the reader left; not an error of ours
        return 0
    return int(result or 0)


