"""Administrative units as data: which service (client) belongs to which commune-level unit.

The province's units change (the 2025 reorganisation merged provinces and abolished districts,
docs/domain.md), so they live in a CSV file the operator edits, never in code. One line per
service, with a header::

    unit_code,unit_name,client_id
    20194,Phường Hồng Gai,motcua-honggai
    20194,Phường Hồng Gai,thuvien-honggai
    22855,Xã Cô Tô,motcua-coto

A service with no line counts under :data:`PROVINCE` (provincial services: the public-service
portal, the tax-filing service). A client id listed twice, or a line with an empty field, is
refused with the line's number.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from idp.errors import IdpError


@dataclass(frozen=True)
class Unit:
    code: str
    name: str


PROVINCE = Unit("", "Cấp tỉnh / province")


class UnitsFileError(IdpError, ValueError):
    """The units file cannot be read; the message names the line."""


@dataclass(frozen=True)
class Units:
    by_client: Mapping[str, Unit]

    def of(self, client_id: str | None) -> Unit:
        return self.by_client.get(client_id or "", PROVINCE)

    @classmethod
    def none(cls) -> Units:
        return cls({})

    @classmethod
    def read(cls, path: Path) -> Units:
        try:
            text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is welcome
        except OSError as exc:
            raise UnitsFileError(f"units file {path}: {exc.strerror}") from None
        rows = csv.DictReader(text.splitlines())
        if rows.fieldnames is None or set(rows.fieldnames) < {"unit_code", "unit_name", "client_id"}:
            raise UnitsFileError(f"units file {path}: the header must be unit_code,unit_name,client_id")
        by_client: dict[str, Unit] = {}
        for number, row in enumerate(rows, start=2):
            code, name, client = ((row.get(k) or "").strip() for k in ("unit_code", "unit_name", "client_id"))
            if not (code and name and client):
                raise UnitsFileError(f"units file {path}, line {number}: unit_code, unit_name and client_id are needed")
            if client in by_client:
                raise UnitsFileError(f"units file {path}, line {number}: {client} is listed twice")
            by_client[client] = Unit(code, name)
        return cls(by_client)
