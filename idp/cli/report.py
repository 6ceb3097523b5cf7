"""``idp report --month YYYY-MM [--units FILE] [--csv FILE]``: the plan's figures for one month.

Prints the month's exact counts as JSON (for the provider's operators): per service and commune,
sign-ins by method and level of assurance, distinct people by the highest level reached, the share
federated from VNeID. ``--csv`` also writes the open-data CSV, small counts suppressed
(:mod:`idp.reports.opendata`). Units come from ``--units`` (:mod:`idp.reports.units`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adapters.registry import load_adapter_configs
from idp.cli.common import print_json
from idp.reports.opendata import open_data_csv
from idp.reports.signins import build_report, month_bounds, signin_events
from idp.reports.units import Units
from idp.runtime import open_storage
from idp.settings import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = subparsers.add_parser("report", help="the month's sign-in figures per service and commune")
    report.add_argument("--month", required=True, help="calendar month in Vietnam's time, e.g. 2026-11")
    report.add_argument("--units", type=Path, metavar="FILE",
                        help="CSV unit_code,unit_name,client_id: the commune of each service (default: "
                        "IDP_REPORT_UNITS_FILE; else every service counts as provincial)")
    report.add_argument("--csv", type=Path, metavar="FILE",
                        help="also write the open-data CSV (no figure resting on fewer than 10 people); - for stdout")
    report.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    month_bounds(args.month)  # a bad month fails before the database is opened
    settings = load_settings()
    units_file = args.units or settings.report_units_file
    units = Units.read(units_file) if units_file else Units.none()
    vneid = {config.id for config in load_adapter_configs(settings) if config.type == "vneid"}
    storage = open_storage(settings)
    try:
        report = build_report(args.month, signin_events(storage.db, args.month), units, vneid)
    finally:
        storage.close()
    if args.csv is not None:
        text = open_data_csv(report)
        if str(args.csv) == "-":
            sys.stdout.write(text)
            return 0
        args.csv.write_text(text, encoding="utf-8")
        print(f"open data: {args.csv}", file=sys.stderr)
    print_json(report.as_json())
    return 0
