"""Upstream HTTP calls: every one has a timeout, and every failure becomes an adapter error.

A source that does not answer (timeout, refused connection, 5xx, 429) is
:class:`SourceUnavailable` — never reported as a refusal of the person. A 4xx answer or a body that
is not what the protocol promises is :class:`UpstreamRejected`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2

from adapters.base import AdapterError, SourceUnavailable, UpstreamRejected
from idp.observability import metrics

MAX_DOCUMENT_BYTES = 512 * 1024


@contextlib.contextmanager
def upstream_errors(what: str) -> Iterator[None]:
    """Translate transport failures of the block into SourceUnavailable (``what`` names the call);
    with metrics on, the call's duration and failure are measured under ``what``."""
    watched = metrics.current()
    if watched is None:
        with _translated(what):
            yield
        return
    started = time.perf_counter()
    try:
        with _translated(what):
            yield
    except AdapterError as exc:
        watched.upstream_errors.labels(what, exc.reason).inc()
        raise
    finally:
        watched.upstream_seconds.labels(what).observe(time.perf_counter() - started)


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except httpx2.TimeoutException:
        raise SourceUnavailable(f"{what}: the upstream did not answer in time", reason="upstream_timeout") from None
    except httpx2.TransportError:
        raise SourceUnavailable(f"{what}: the upstream is unreachable", reason="upstream_unreachable") from None
    except httpx2.HTTPStatusError as exc:
        raise_for_status(exc.response, what)


def raise_for_status(response: httpx2.Response, what: str) -> None:
    """Raise the adapter error an unsuccessful status means; return for 2xx."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if status >= 500 or status == 429:
        raise SourceUnavailable(f"{what}: the upstream answered HTTP {status}", reason="upstream_unavailable")
    raise UpstreamRejected(f"{what}: the upstream answered HTTP {status}", reason="upstream_http_error")


def json_object(response: httpx2.Response, what: str) -> dict[str, Any]:
    """The response's JSON object (bounded in size); UpstreamRejected for anything else."""
    raise_for_status(response, what)
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise UpstreamRejected(f"{what}: the response is too large", reason="oversized_response")
    try:
        value = json.loads(response.content)
    except ValueError:
        raise UpstreamRejected(f"{what}: the response is not JSON", reason="malformed_response") from None
    if not isinstance(value, dict):
        raise UpstreamRejected(f"{what}: the response is not a JSON object", reason="malformed_response")
    return value


def get_json(client: httpx2.Client, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
    """GET a JSON object, with the adapter's error translation."""
    with upstream_errors(what):
        response = client.get(url, **kwargs)
    return json_object(response, what)
