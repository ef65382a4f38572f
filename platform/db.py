"""Database access: engines, the declarative base and the unit of work.

The unit of work is the only transaction boundary (STYLE.md). A service opens one, loads
what it needs, calls the domain and commits; leaving the block without ``commit()`` rolls
back. Each unit of work is bound either to one tenant or to the platform:

* tenant-bound: every ORM query on a ``TenantOwned`` model is filtered to that tenant
  (``with_loader_criteria``), and on PostgreSQL the transaction also carries
  ``app.tenant_id`` for the row-level security policies (see migrations);
* platform-bound: for the operator, auth lookups and cross-tenant jobs (settlement).

SQLite is single-writer, so every transaction there starts with ``BEGIN IMMEDIATE``:
writers queue on the busy timeout instead of failing half-way. PostgreSQL deadlocks and
serialization failures are retried by ``run_in_transaction``.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import json
import logging
import os
import random
import time
import weakref
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
    create_engine,
    event,
    insert,
    text,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.types import TypeDecorator

from . import clock

log = logging.getLogger(__name__)
T = TypeVar("T")


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on both databases (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


BigInt = BigInteger().with_variant(Integer, "sqlite")
"""64-bit integers for points and money; SQLite autoincrements only INTEGER keys."""


def one_of(column: str, values: type[enum.StrEnum]) -> str:
    """The SQL of a CHECK that ``column`` holds one of the enum's values."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


class TenantOwned:
    """Mixin for rows that belong to one tenant. Queries see only the bound tenant's rows."""

    tenant_id: Mapped[str] = mapped_column(String(32), index=True)


class Created:
    created: Mapped[datetime] = mapped_column(default=clock.now)


# --- engines ---------------------------------------------------------------------------


def make_engine(url: str, *, role: str | None = None, pool_size: int = 10) -> Engine:
    engine = _make_engine(url, role=role, pool_size=pool_size)
    _forget_pool_in_forked_children(engine)
    return engine


def _forget_pool_in_forked_children(engine: Engine) -> None:
    """RQ forks a work horse per job: the child must open its own connections, never
    talk over the parent's pooled sockets (SQLAlchemy's documented ``dispose(close=False)``)."""
    ref = weakref.ref(engine)

    def after_fork_in_child() -> None:
        forked = ref()
        if forked is not None:
            forked.dispose(close=False)

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=after_fork_in_child)


def _make_engine(url: str, *, role: str | None, pool_size: int) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=20,
        pool_pre_ping=True,
        # Server-side prepared statements measured slower than plain ones for our short
        # statements (bench/ledger); psycopg would prepare after five executions.
        connect_args={"prepare_threshold": None},
    )
    if role:

        @event.listens_for(engine, "connect")
        def _assume_app_role(dbapi_connection: Any, _record: Any) -> None:
            # The app role owns no tables and cannot bypass row-level security.
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT set_config('role', %s, false)", (role,))
            dbapi_connection.commit()

    return engine


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        from pathlib import Path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# --- the unit of work ------------------------------------------------------------------


class Database:
    """An engine and its session factory; one per app."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.sessions = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
        event.listen(self.sessions, "do_orm_execute", _scope_to_tenant)
        event.listen(self.sessions, "after_begin", _mark_transaction_scope)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def dispose(self) -> None:
        self.engine.dispose()


def get_database() -> Database:
    """The app's database (``app.extensions["jifen.db"]``); needs an app context."""
    from flask import current_app, has_app_context

    if not has_app_context() or "jifen.db" not in current_app.extensions:
        raise RuntimeError("no database: work inside the app context of create_app()")
    return current_app.extensions["jifen.db"]


class UnitOfWork:
    """One transaction. Use as ``with unit_of_work(tenant_id=...) as uow``."""

    def __init__(self, session: Session, *, tenant_id: str | None, platform: bool):
        self.session = session
        self.tenant_id = tenant_id
        self.platform = platform
        self._before_commit: list[Callable[[UnitOfWork, Any], None]] = []
        self._after_commit: list[Callable[[], None]] = []
        self.committed = False

    def before_commit(self, hook: Callable[[UnitOfWork, Any], None]) -> None:
        self._before_commit.append(hook)

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once the transaction has committed (enqueueing jobs, for one)."""
        self._after_commit.append(hook)

    def commit(self, result: Any = None) -> None:
        """Commit the transaction.

        ``result`` is what the use case returns; when the request carries an
        ``Idempotency-Key`` it is stored as the response in this same transaction.
        """
        for hook in self._before_commit:
            hook(self, result)
        self.session.commit()
        self.committed = True
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            hook()

    def rollback(self) -> None:
        self.session.rollback()


_uow_hooks: list[Callable[[UnitOfWork], None]] = []


def on_unit_of_work_start(hook: Callable[[UnitOfWork], None]) -> None:
    """Register a hook every new unit of work runs (the idempotency store uses it)."""
    _uow_hooks.append(hook)


@contextlib.contextmanager
def unit_of_work(*, tenant_id: str | None = None, platform: bool = False) -> Iterator[UnitOfWork]:
    if tenant_id is None and not platform:
        raise ValueError("a unit of work is bound to a tenant or to the platform")
    session = get_database().sessions()
    session.info["tenant_id"] = tenant_id
    session.info["platform"] = platform
    uow = UnitOfWork(session, tenant_id=tenant_id, platform=platform)
    for hook in _uow_hooks:
        hook(uow)
    try:
        yield uow
    finally:
        # Rolls back anything left uncommitted; loaded objects stay readable, detached.
        session.close()


def insert_rows(session: Session, *rows: Base) -> None:
    """Write new mapped objects at once with plain INSERTs, in the order given, skipping
    the unit of work's flush (for hot paths); on PostgreSQL they go as one statement
    (data-modifying CTEs; foreign keys are checked at its end) straight to the driver.
    The rows stay out of the session. Attributes left None are left out, so server
    defaults apply; columns with a Python default must be set. An attribute may hold a
    SQL expression on SQLite only."""
    session.flush()  # rows they refer to may still be pending
    connection = session.connection()
    values = [_column_values(row) for row in rows]
    if connection.dialect.name != "postgresql":
        for row, row_values in zip(rows, values, strict=True):
            connection.execute(insert(type(row)).values(row_values))
        return
    shape = tuple((type(row).__table__, tuple(v)) for row, v in zip(rows, values, strict=True))
    connection.exec_driver_sql(
        _inserts_at_once(shape), tuple(_as_json_record(row_values) for row_values in values)
    )


def _column_values(row: Base) -> dict[str, Any]:
    return {
        attribute.columns[0].key: value
        for attribute in sa_inspect(type(row)).column_attrs
        if (value := getattr(row, attribute.key)) is not None
    }


@functools.lru_cache(maxsize=256)
def _inserts_at_once(shape: tuple[tuple[Any, tuple[str, ...]], ...]) -> str:
    """The SQL of INSERTs into ``(table, column keys)`` in turn, as one statement. Each
    row is one parameter, a JSON object that ``json_populate_record`` reads with the
    table's column types (one parameter per row keeps the driver's query cache usable)."""
    inserts = []
    for table, keys in shape:
        names = ", ".join(table.columns[key].name for key in keys)
        inserts.append(
            f"INSERT INTO {table.name} ({names}) SELECT {names}"
            f" FROM json_populate_record(NULL::{table.name}, %s::json)"
        )
    *first, last = inserts
    with_clause = "WITH " + ", ".join(f"row_{n} AS ({s})" for n, s in enumerate(first)) + " "
    return (with_clause if first else "") + last


def _as_json_record(values: dict[str, Any]) -> str:
    """A row for ``json_populate_record``: column names to values, times in ISO 8601 UTC
    (as ``UTCDateTime`` stores them)."""
    return json.dumps(
        {key: _json_value(value) for key, value in values.items()}, separators=(",", ":")
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def run_in_transaction(fn: Callable[[], T], *, attempts: int = 8, base_delay: float = 0.005) -> T:
    """Call ``fn`` (which opens its own unit of work) and retry it on deadlock or
    serialization failure, with jittered backoff, so clients never see one."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except DBAPIError as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            delay = base_delay * (2 ** (attempt - 1)) * (0.5 + random.random())
            log.info("retrying transaction after %s", type(exc.orig).__name__)
            time.sleep(delay)
    raise AssertionError("unreachable")


def is_retryable(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if sqlstate in ("40P01", "40001"):
        return True
    return "database is locked" in str(exc.orig)


def is_unique_violation(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == "23505" or "UNIQUE constraint failed" in str(exc.orig)


# --- tenant scoping --------------------------------------------------------------------


def _scope_to_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.session.info.get("platform"):
        return
    tenant_id = state.session.info.get("tenant_id")
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
            track_closure_variables=True,
        )
    )


_SET_SCOPE = text(
    "SELECT set_config('app.tenant_id', :tenant_id, true),"
    " set_config('app.platform', :platform, true)"
)


def _mark_transaction_scope(session: Session, transaction: Any, connection: Any) -> None:
    # A savepoint runs inside a transaction whose scope is already set: skip the round trip.
    if connection.dialect.name != "postgresql" or transaction.nested:
        return
    connection.execute(
        _SET_SCOPE,
        {
            "tenant_id": session.info.get("tenant_id") or "",
            "platform": "on" if session.info.get("platform") else "off",
        },
    )
