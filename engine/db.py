"""Database engines and sessions for SQLite (embedded default) and PostgreSQL.

Writers must be serialized per instance. PostgreSQL does it with ``SELECT … FOR UPDATE`` on the
instance row; SQLite has a single writer anyway, so write transactions start with
``BEGIN IMMEDIATE`` and queue on the database lock instead of failing at commit time. Read-only
units of work use plain deferred transactions so that listing the inbox never waits on a writer
(WAL mode).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

WRITE_OPTION = "cauce_write"

# JSON columns (the workflow state above all) are written at every step: compact separators and
# UTF-8 as is make the documents smaller; reading them back gives the same values. One encoder,
# not one per value as json.dumps(**options) builds.
_json_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, lock_timeout_s: float = 10.0, **kwargs: Any) -> Engine:
    """Create an engine with the connection settings cauce relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": lock_timeout_s, "check_same_thread": False}, json_serializer=_json_dumps,
            **kwargs
        )
        _configure_sqlite(engine, lock_timeout_s)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, json_serializer=_json_dumps,
                           **kwargs)

    @event.listens_for(engine, "connect")
    def _pg_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
        dbapi_connection.commit()

    return engine


def _configure_sqlite(engine: Engine, lock_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout_s * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        # Straight to the driver: every request begins one or two transactions, and a statement
        # through SQLAlchemy's execution path costs more than SQLite takes to run it.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_session_factories(engine: Engine) -> tuple[sessionmaker[Session], sessionmaker[Session]]:
    """Return (reader, writer) session factories sharing one connection pool."""
    reader = sessionmaker(bind=engine, expire_on_commit=False)
    # No autoflush for writers: a use case reads a few rows and then writes many; flushing before
    # every read cost more than the engine step itself. Writes are flushed once, at commit.
    writer = sessionmaker(
        bind=engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False, autoflush=False
    )
    return reader, writer
