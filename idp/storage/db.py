"""One SQLAlchemy engine for PostgreSQL (psycopg 3) and SQLite, and ambient transactions.

Repositories call :meth:`Database.connect` for every statement. Inside ``with db.transaction():``
that is the one connection of the transaction, so a state change and the audit event that
describes it commit together; outside, each statement commits on its own.

On PostgreSQL a thread that does blocking work all day (the request threads, the audit writer:
they call :func:`keep_connection_in_this_thread` once) keeps one connection for its single
statements and its transactions instead of checking one out of the pool per statement: the checkout
and its reset cost as much CPU as a short statement (bench/experiments/sql_checkout.py). The
connection stays in autocommit between transactions; a transaction switches it to READ COMMITTED
for its duration. A connection the driver found broken is replaced at the thread's next statement.

Every wait on PostgreSQL is bounded (:class:`Timeouts`): connecting, a pool checkout, and each
statement, on the server (``statement_timeout``, ``lock_timeout``) and on the client too, since a
frozen or unreachable server enforces nothing: a watchdog shuts the socket of a statement that
outlives its bound by a second, the driver then reports a lost connection (answered 503) and the
pool reconnects once the server answers again. TCP keepalives notice a peer that vanished.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
_current: contextvars.ContextVar[Connection | None] = contextvars.ContextVar("idp_db_tx", default=None)
_thread = threading.local()
_AUTOCOMMIT, _TRANSACTION = "AUTOCOMMIT", "READ COMMITTED"


def keep_connection_in_this_thread() -> None:
    """From now on this thread keeps one PostgreSQL connection per database (see the module doc).
    Only for long-lived threads: the pool is sized for them (``IDP_DATABASE_POOL_SIZE`` and
    ``IDP_DATABASE_POOL_OVERFLOW``)."""
    _thread.keeps = True


def normalise_url(url: str) -> str:
    """Map ``postgres://`` and ``postgresql://`` to the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


#: Default connections kept open per process (``IDP_DATABASE_POOL_SIZE``): one for each thread that
#: runs blocking work (idp.web.threads is sized the same), so no request waits for a connection.
POOL_SIZE = 32
#: Default above the pool (``IDP_DATABASE_POOL_OVERFLOW``), for the background writers (audit group
#: commit, SIEM forwarding, key refresh).
POOL_OVERFLOW = 8


#: TCP keepalives of every PostgreSQL connection (libpq): a peer silent for 30 s is probed every
#: 10 s and given up after 3 unanswered probes.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
#: Seconds the client-side bound of a statement exceeds the server's ``statement_timeout`` (a live
#: server cancels first, with a clearer error).
WATCHDOG_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class Timeouts:
    """Bounds of the waits on PostgreSQL, in seconds (``IDP_DATABASE_*_TIMEOUT_SECONDS``).
    ``statement`` 0 leaves statements unbounded (no server timeout, no watchdog)."""

    connect: int = 5
    statement: float = 10
    lock: float = 5
    pool: float = 5


def build_engine(url: str, *, schema: str | None = None, pool_size: int = POOL_SIZE,
                 pool_overflow: int = POOL_OVERFLOW, timeouts: Timeouts | None = None) -> Engine:
    """Create the engine; ``schema`` sets the PostgreSQL search_path (tests use one per run).

    A PostgreSQL process opens at most ``pool_size + pool_overflow`` connections, and waits on it
    as long as ``timeouts`` allow (see the module doc)."""
    timeouts = timeouts or Timeouts()
    url = normalise_url(url)
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": timeouts.connect, **KEEPALIVES}
    options = [str(parsed.query["options"])] if "options" in parsed.query else []  # the URL's own (search_path)
    options += [f"-csearch_path={schema}"] if schema else []
    given = parsed.query.get("options")  # the URL's own (a search_path, say): kept, not replaced below
    options += [given] if isinstance(given, str) else list(given or ())
    if timeouts.statement > 0:
        options.append(f"-cstatement_timeout={int(timeouts.statement * 1000)}")
    if timeouts.lock > 0:
        options.append(f"-clock_timeout={int(timeouts.lock * 1000)}")
    if options:
        connect_args["options"] = " ".join(options)
    engine = create_engine(
        # No pre-ping (it doubles the round trips of every query): a connection the server dropped
        # fails once, SQLAlchemy invalidates the pool, and the next checkout reconnects.
        url, pool_size=pool_size, max_overflow=pool_overflow, pool_recycle=1800, pool_timeout=timeouts.pool,
        connect_args=connect_args, **kwargs
    )
    if timeouts.statement > 0:
        StatementWatchdog(timeouts.statement + WATCHDOG_GRACE_SECONDS).watch(engine)
    return engine


@contextlib.contextmanager
def driver_call_bound(conn: Connection) -> Iterator[None]:
    """Bound a call made straight on the psycopg connection under ``conn`` (bypassing SQLAlchemy's
    events) like a statement: the engine's watchdog shuts its socket once it outlives the bound."""
    watchdog: StatementWatchdog | None = getattr(conn.engine, "idp_watchdog", None)
    if watchdog is None:
        yield
        return
    dbapi = conn.connection.dbapi_connection
    watchdog._track(dbapi)
    try:
        yield
    finally:
        watchdog._untrack(dbapi)


class StatementWatchdog:
    """The client-side bound of a statement: one thread shuts down the socket of a statement that
    runs longer than ``bound`` seconds (a frozen server, or one behind a silent network, never
    answers nor cancels). The waiting driver call then fails as a lost connection."""

    def __init__(self, bound: float) -> None:
        self.bound = bound
        self._running: dict[int, tuple[float, Any]] = {}  # id(DBAPI connection) -> (deadline, it)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, engine: Engine) -> None:
        engine.idp_watchdog = self  # type: ignore[attr-defined]  # for driver_call_bound
        event.listen(engine, "before_cursor_execute", self._started)
        event.listen(engine, "after_cursor_execute", self._ended)
        event.listen(engine, "handle_error", self._failed)
        dialect = engine.dialect  # a COMMIT or ROLLBACK is no cursor execution: bound the driver's calls
        for name in ("do_commit", "do_rollback"):
            setattr(dialect, name, self._bounded(getattr(dialect, name)))

    def _bounded(self, call: Callable[[Any], None]) -> Callable[[Any], None]:
        def bounded(dbapi: Any) -> None:
            self._track(dbapi)
            try:
                call(dbapi)
            finally:
                self._untrack(dbapi)
        return bounded

    def _untrack(self, dbapi: Any) -> None:
        with self._lock:
            self._running.pop(id(dbapi), None)

    def _track(self, dbapi: Any) -> None:
        with self._lock:
            self._running[id(dbapi)] = (time.monotonic() + self.bound, dbapi)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="idp-db-watchdog", daemon=True)
                self._thread.start()

    def _started(self, conn: Connection, _cursor: Any, _statement: Any, _parameters: Any, context: Any,
                 _many: bool) -> None:
        options = context.execution_options if context is not None else conn.get_execution_options()
        if options.get("idp_unbounded"):
            return
        self._track(conn.connection.dbapi_connection)

    def _ended(self, conn: Connection, *_args: Any) -> None:
        with self._lock:
            self._running.pop(id(conn.connection.dbapi_connection), None)

    def _failed(self, context: Any) -> None:
        dbapi = getattr(context.connection, "connection", None) if context.connection is not None else None
        if dbapi is not None:
            with self._lock:
                self._running.pop(id(dbapi.dbapi_connection), None)

    def _run(self) -> None:
        while True:
            time.sleep(min(0.25, self.bound / 4))
            now = time.monotonic()
            with self._lock:
                overdue = [key for key, (deadline, _) in self._running.items() if deadline <= now]
                stuck = [self._running.pop(key)[1] for key in overdue]
            for dbapi in stuck:
                _shut_down(dbapi)


#: Execution options of a connection or statement the watchdog leaves alone (a migration, a wait for
#: a maintenance lock: pair it with ``SET LOCAL statement_timeout = 0`` and ``lock_timeout = 0``).
UNBOUNDED = {"idp_unbounded": True}


def _shut_down(dbapi: Any) -> None:
    """Shut down a DBAPI connection's socket (both ways) without closing its descriptor, which the
    driver still owns."""
    try:
        with socket.socket(fileno=os.dup(dbapi.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)
        log.warning("a PostgreSQL statement exceeded its time bound: its connection was shut down")
    except (OSError, ValueError, AttributeError):
        pass  # closed meanwhile


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    # Writers take the lock up front, so read-then-write transactions never deadlock on upgrade.
    # Single statements run in autocommit mode and need no transaction of ours.
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The engine plus the ambient-transaction helper shared by every SQL repository."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._keeps = engine.dialect.name == "postgresql"
        self._kept: dict[int, Connection] = {}  # thread ident -> its connection (closed by dispose)
        self._kept_lock = threading.Lock()
        # Bumped when any connection finds the server gone (a restart, a failover): every thread then
        # replaces its kept connection before its next statement instead of failing on it once.
        self._generation = 0
        self._generations: dict[int, int] = {}  # thread ident -> generation of its kept connection
        event.listen(engine, "handle_error", self._on_error)

    def _on_error(self, context: Any) -> None:
        if context.is_disconnect:
            self._generation += 1

    def _kept_connection(self) -> Connection | None:
        """This thread's own connection (autocommit between transactions), or None when it keeps none."""
        if not self._keeps or not getattr(_thread, "keeps", False):
            return None
        ident = threading.get_ident()
        conn = self._kept.get(ident)
        generation = self._generation
        if conn is not None and not conn.closed and not conn.invalidated and self._generations.get(ident) == generation:
            return conn
        if conn is not None:
            if not conn.closed and not conn.invalidated and self._generations.get(ident) != generation:
                conn.invalidate()  # opened before the server was lost: do not return it to the pool
            conn.close()
        conn = self.engine.connect().execution_options(isolation_level=_AUTOCOMMIT)
        with self._kept_lock:
            self._kept[ident] = conn
            self._generations[ident] = generation
        return conn

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Run the block in one transaction (nested calls join the outer one)."""
        outer = _current.get()
        if outer is not None:
            yield outer
            return
        kept = self._kept_connection()
        if kept is None:
            with self.engine.begin() as conn:
                token = _current.set(conn)
                try:
                    yield conn
                finally:
                    _current.reset(token)
            return
        kept.execution_options(isolation_level=_TRANSACTION)
        token = _current.set(kept)
        try:
            with kept.begin():
                yield kept
        finally:
            _current.reset(token)
            if not kept.closed and not kept.invalidated:
                kept.execution_options(isolation_level=_AUTOCOMMIT)

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """The ambient transaction's connection, or else an autocommit connection: each statement
        is its own transaction (no BEGIN/COMMIT round trips for a read). Repositories that need
        several statements to hold together either use compare-and-swap or open a transaction."""
        outer = _current.get()
        if outer is not None:
            yield outer
            return
        kept = self._kept_connection()
        if kept is None:
            with self.engine.connect() as conn:
                yield conn.execution_options(isolation_level=_AUTOCOMMIT)
            return
        try:
            yield kept
        finally:  # end SQLAlchemy's bookkeeping transaction (autocommit: nothing is sent)
            if not kept.closed and not kept.invalidated and kept.in_transaction():
                kept.rollback()

    @staticmethod
    def in_transaction() -> bool:
        """Whether the caller runs inside ``transaction()``."""
        return _current.get() is not None

    def ping(self) -> None:
        """Raise if the database cannot answer ``SELECT 1``."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def is_read_only(self) -> bool:
        """Whether a new transaction here could not write (PostgreSQL: a standby, or read-only by
        default as after a failover to one); raise if the database cannot answer."""
        if self.dialect != "postgresql":
            self.ping()
            return False
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT current_setting('transaction_read_only')")).scalar() == "on"

    def dispose(self) -> None:
        with self._kept_lock:
            kept, self._kept = list(self._kept.values()), {}
        for conn in kept:
            with contextlib.suppress(Exception):
                conn.close()
        self.engine.dispose()
