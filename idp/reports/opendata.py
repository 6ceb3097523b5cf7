"""The open-data CSV of a month's sign-ins, with small counts suppressed.

One line per (service, unit, figure). A figure that rests on fewer than :data:`THRESHOLD` distinct
people is not published: its value is empty and ``suppressed`` is ``1``. So that a suppressed cell
cannot be found again by subtracting the others from a published total, a group of cells that
adds up to a published total never has exactly one suppressed cell: the smallest other cell is
suppressed with it (complementary suppression). The share federated from VNeID is published only
for a service and unit with at least :data:`THRESHOLD` people.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from idp.reports.signins import MonthReport

THRESHOLD = 10
COLUMNS = ("month", "unit_code", "unit_name", "service", "figure", "method", "level", "value", "suppressed")


def _suppress(cells: list[tuple[str, str, int, int]], *, publish: bool = True) -> list[tuple[str, str, int | None]]:
    """``(method, level, value, people)`` -> ``(method, level, value or None)``: under the threshold
    suppressed, and complementary suppression when exactly one cell of the group is; every cell
    when the group's total is not published."""
    if not publish:
        return [(method, level, None) for method, level, _, _ in cells]
    hidden = {i for i, (_, _, _, people) in enumerate(cells) if people < THRESHOLD}
    if len(hidden) == 1 and len(cells) > 1:
        shown = sorted((value, i) for i, (_, _, value, _) in enumerate(cells) if i not in hidden)
        hidden.add(shown[0][1])
    return [(method, level, None if i in hidden else value) for i, (method, level, value, _) in enumerate(cells)]


def open_data_rows(report: MonthReport) -> Iterable[dict[str, object]]:
    for (client_id, unit), group in sorted(report.groups.items(), key=lambda item: (item[0][1].code, item[0][0])):
        base = {"month": report.month, "unit_code": unit.code, "unit_name": unit.name, "service": client_id}
        people = len(group.highest)
        signin_cells = [(method, level, count, len(group.people_per_cell[method, level]))
                        for (method, level), count in sorted(group.signins.items())]
        level_counts = group.people_by_level()
        people_cells = [("", level, count, count) for level, count in sorted(level_counts.items())]
        enough = people >= THRESHOLD
        yield {**base, "figure": "signins", "method": "", "level": "", "value": group.total if enough else None}
        for method, level, value in _suppress(signin_cells, publish=enough):
            yield {**base, "figure": "signins", "method": method, "level": level, "value": value}
        yield {**base, "figure": "people", "method": "", "level": "", "value": people if enough else None}
        for _, level, value in _suppress(people_cells, publish=enough):
            yield {**base, "figure": "people_by_highest_level", "method": "", "level": level, "value": value}
        share = round(group.vneid_signins / group.total, 4) if enough and group.total else None
        yield {**base, "figure": "vneid_share", "method": "", "level": "", "value": share}


def open_data_csv(report: MonthReport) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in open_data_rows(report):
        writer.writerow({**row, "value": "" if row["value"] is None else row["value"],
                         "suppressed": int(row["value"] is None)})
    return out.getvalue()
