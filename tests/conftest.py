"""Shared fixtures: a migrated database per test on SQLite, and on PostgreSQL when configured.

A test that asks for ``db_url`` (directly or through ``service``/``client``) runs once per
database: SQLite always, PostgreSQL when ``CAUCE_TEST_DATABASE_URL`` points at a server (CI sets
it). Each pytest-xdist worker gets its own PostgreSQL database, migrated with Alembic once and
emptied between tests; SQLite tests copy a migrated template file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from api.cli import db_upgrade
from engine.bootstrap import Wiring, build
from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from engine.models import Base
from engine.settings import Settings

# Every test that writes histories is also a replay test (tests/replay_check.py); mail tests get a
# real SMTP server on loopback (the ``smtp`` fixture of tests/smtp_server.py).
pytest_plugins = ["tests.replay_check", "tests.smtp_server"]

PG_URL = os.environ.get("CAUCE_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
# Every table of the schema, so that a new table is emptied between tests without listing it here.
TABLES = [table.name for table in Base.metadata.sorted_tables]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, scope="session")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "cauce.db"
    db_upgrade(Settings(database_url=f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_database(worker_id: str, testrun_uid: str) -> Iterator[str]:
    """A private, migrated PostgreSQL database for this xdist worker of this test run."""
    if not PG_URL:
        pytest.skip("CAUCE_TEST_DATABASE_URL is not set")
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"cauce_test_{testrun_uid[:8]}_{worker_id}".replace("-", "_")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + f"/{name}"
    db_upgrade(Settings(database_url=url))
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        path = tmp_path / "cauce.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def handlers() -> HandlerRegistry:
    """An empty registry: each test registers the handlers its diagrams call."""
    return HandlerRegistry()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, scheduler_enabled=False, script_timeout_s=1.0, lock_timeout_s=5.0,
                    files_dir=tmp_path / "files")


@pytest.fixture
def wiring(settings: Settings, handlers: HandlerRegistry, clock: ManualClock) -> Iterator[Wiring]:
    built = build(settings, handlers=handlers, clock=clock)
    yield built
    built.db.dispose()
