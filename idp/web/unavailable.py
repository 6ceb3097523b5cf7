"""Telling a backend that cannot answer (PostgreSQL or Redis down, frozen past its timeout, or a
database failed over to read-only) from a defect: the first is answered 503, ``Retry-After``, with
``temporarily_unavailable`` (RFC 6749 §4.1.2.1) or its page, so people and relying parties know to
try again; only the second is a 500."""

from __future__ import annotations

import psycopg
import redis
from sqlalchemy import exc as sa_exc

#: Seconds a client is asked to wait before trying again.
RETRY_AFTER_SECONDS = 5

_UNAVAILABLE = (
    redis.exceptions.ConnectionError,  # refused, lost, closed (and the loop reader's RedisReadError)
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.BusyLoadingError,
    sa_exc.OperationalError,  # could not connect, server closed the connection, admin shutdown
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # no pooled connection in time
    psycopg.OperationalError,
    psycopg.errors.ReadOnlySqlTransaction,  # a standby after failover
)


def is_backend_unavailable(error: BaseException) -> bool:
    """Whether ``error``, or an error it was raised from, says a backend cannot answer now."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE):
            return True
        if isinstance(current, sa_exc.DBAPIError) and (current.connection_invalidated or isinstance(
                current.orig, psycopg.errors.ReadOnlySqlTransaction)):
            return True
        current = current.__cause__ or current.__context__
    return False
