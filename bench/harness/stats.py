"""Small statistics: percentiles of latencies and ours/peer ratios."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(ours: float | None, peer: float | None) -> float | None:
    """ours / peer, or None when either side has nothing to compare."""
    if ours is None or peer is None or peer == 0:
        return None
    return ours / peer
