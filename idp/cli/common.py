"""Helpers shared by the command groups."""

from __future__ import annotations

import json
import sys
from typing import Any

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
