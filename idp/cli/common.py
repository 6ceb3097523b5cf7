"""Helpers shared by the command groups."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from idp.audit.context import operator_name
from idp.runtime import open_storage
from idp.settings import load_settings
from idp.storage.sql import SqlStorage


def storage_from_env(*, migrate: bool | None = None) -> SqlStorage:
    return open_storage(load_settings(), migrate=migrate)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def read_stdin_secret(what: str) -> str:
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise ValueError(f"no {what} on standard input")
    return value


def add_operator_argument(parser: argparse.ArgumentParser) -> None:
    """``--operator NAME``: who makes this change (recorded in its audit event)."""
    parser.add_argument("--operator", metavar="NAME",
                        help="who makes this change, for the audit trail (default: IDP_OPERATOR, else cli:<login>)")


def operator_of(args: argparse.Namespace) -> str:
    """The actor of an administrator command: ``--operator``, else ``IDP_OPERATOR``, else ``cli:<login>``."""
    named = getattr(args, "operator", None)
    return operator_name(named if named else load_settings().operator)
