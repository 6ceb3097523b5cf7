"""Prometheus metrics, served on a port of their own (``IDP_METRICS_PORT``; off when unset).

What is counted, and where:

- ``idp_signins_total{outcome,method,adapter,acr}``, ``idp_second_factor_total{outcome}``,
  ``idp_tokens_issued_total{grant}``, ``idp_throttle_locks_total{kind}``,
  ``idp_adapter_errors_total{adapter,reason}`` and ``idp_identity_links_total{kind,adapter}``: from
  the audit trail, by one hook (:mod:`idp.observability.events`) on every event written, so
  whatever is audited is counted once.
- ``idp_upstream_request_seconds{call}`` and ``idp_upstream_errors_total{call,reason}``: around each
  HTTP call to an upstream identity provider (``adapters/oidc/http.py``).
- ``idp_audit_commit_seconds``: how long an event waits for the audit writer's group commit
  (``idp/audit/batching.py``); ``idp_audit_siem_lag_seconds``: the age of the newest event the SIEM
  forwarder has just sent (0 when it is caught up).
- ``idp_db_connections_in_use``: database connections checked out of the worker's pool.

Label values come from bounded sets only (the configured adapters, the acr tokens, RFC 8176 amr
values, outcome and reason codes); no value a request can choose freely becomes a label, and no
personal data is ever a label.

Several workers: ``idp serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before the
workers start (prometheus-client's multiprocess mode), and serves the sum over every worker from the
serving process (:func:`serve_metrics`). A worker that stops removes its gauges
(:func:`worker_stopped`); counters of a stopped worker keep counting in the sum.

Metrics are made by :func:`enable` (the compose step, when the port is set); until then
:func:`current` is None and every caller skips its measurement, so a process without metrics pays
one ``None`` check.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The provider's metrics in prometheus-client's default registry (one set per process)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.signins: Counter = Counter(
            "idp_signins", "First-factor sign-ins by outcome, method (amr), adapter and level of assurance",
            ["outcome", "method", "adapter", "acr"])
        self.second_factor: Counter = Counter("idp_second_factor", "Second-factor checks by outcome", ["outcome"])
        self.tokens: Counter = Counter("idp_tokens_issued", "Tokens issued by grant type", ["grant"])
        self.throttle_locks: Counter = Counter(
            "idp_throttle_locks", "Accounts locked and client addresses throttled after failed sign-ins", ["kind"])
        self.adapter_errors: Counter = Counter(
            "idp_adapter_errors", "Identity-source failures by adapter and reason", ["adapter", "reason"])
        self.identity_links: Counter = Counter(
            "idp_identity_links", "People linked to an upstream identity (linked) and conflicting attributes kept "
            "apart (conflict), by adapter", ["kind", "adapter"])
        self.upstream_seconds: Histogram = Histogram(
            "idp_upstream_request_seconds", "Duration of HTTP calls to upstream identity providers", ["call"],
            buckets=_LATENCY_BUCKETS)
        self.upstream_errors: Counter = Counter(
            "idp_upstream_errors", "Failed HTTP calls to upstream identity providers", ["call", "reason"])
        self.audit_commit_seconds: Histogram = Histogram(
            "idp_audit_commit_seconds", "Time from recording an audit event to its group commit",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0))
        self.siem_lag_seconds: Gauge = Gauge(
            "idp_audit_siem_lag_seconds", "Age of the newest audit event just sent to the SIEM (0: caught up)",
            multiprocess_mode="livemax")
        self.db_connections_in_use: Gauge = Gauge(
            "idp_db_connections_in_use", "Database connections checked out of the pool", multiprocess_mode="livesum")


_current: Metrics | None = None


def enable() -> Metrics:
    """Make the metrics of this process (once; later calls return the same)."""
    global _current
    if _current is None:
        _current = Metrics()
    return _current


def current() -> Metrics | None:
    """The metrics of this process, or None when metrics are off."""
    return _current


def watch_pool(engine: Any, metrics: Metrics) -> None:
    """Count the connections checked out of a SQLAlchemy engine's pool."""
    from sqlalchemy import event

    gauge = metrics.db_connections_in_use
    event.listen(engine, "checkout", lambda *_: gauge.inc())
    event.listen(engine, "checkin", lambda *_: gauge.dec())


def prepare_multiprocess(directory: str) -> None:
    """Before any worker starts (and before prometheus-client is imported in this process): every
    process started from here writes its metrics under ``directory``."""
    os.environ[MULTIPROC_ENV] = directory


def serve_metrics(host: str, port: int) -> Any:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread: the sum over every worker's files
    when multiprocess mode is on, else this process's metrics. Returns the HTTP server."""
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = REGISTRY
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:  # the port is taken, or the address is not this machine's: one line, no traceback
        raise ValueError(f"IDP_METRICS_PORT {port} on {host}: {exc.strerror or exc}") from None
    return server


def worker_stopped() -> None:
    """A worker ends: its live gauges leave the sum (multiprocess mode only)."""
    if _current is not None and os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())
