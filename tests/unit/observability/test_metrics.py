"""The metrics endpoint: a port that is taken is one readable line, not a traceback."""

from __future__ import annotations

import socket

import pytest

from idp.observability.metrics import serve_metrics


def test_a_taken_port_is_named() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ValueError, match=f"IDP_METRICS_PORT {port} on 127.0.0.1: Address already in use"):
            serve_metrics("127.0.0.1", port)
