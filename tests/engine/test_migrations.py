"""The migrations build exactly the schema the models declare, so `cauce db upgrade` on a
production database gives the tables the code expects (a model change without its migration
fails here, not in production)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from api.cli import db_upgrade
from engine.models import Base
from engine.settings import Settings


def _differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_migrations_match_the_models_on_this_backend(db_url: str) -> None:
    assert _differences(db_url) == []


def test_a_populated_sqlite_database_upgrades_with_its_rows(tmp_path: Path) -> None:
    """`make run` on an existing SQLite file: a revision that rebuilds a table other rows reference
    (0007 rebuilds human_tasks, which candidates and comments reference) must carry the rows over."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    settings = Settings(database_url=url)
    db_upgrade(settings, "0006")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("PRAGMA foreign_keys=ON"))
            conn.execute(text(
                "INSERT INTO definitions (id, key, version, bpmn_xml, checksum, called_keys, deployed_at) "
                "VALUES (1, 'k', 1, '<x/>', 'c', '[]', '2026-01-01 00:00:00')"))
            conn.execute(text(
                "INSERT INTO instances (id, definition_id, definition_version, definition_key, "
                "called_definitions, status, started_at, updated_at, data, revision, last_event_seq, "
                "last_event_hash) VALUES ('i', 1, 1, 'k', '{}', 'running', '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00', '{}', 0, 0, '')"))
            conn.execute(text("INSERT INTO instance_states (instance_id, state) VALUES ('i', '{\"tasks\": {}}')"))
            conn.execute(text(
                "INSERT INTO human_tasks (id, instance_id, definition_key, process_key, element_id, status, "
                "created_at, candidate_roles, lane) "
                "VALUES ('t', 'i', 'k', 'k', 'e', 'ready', '2026-01-01 00:00:00', '[\"A\"]', 'L')"))
            conn.execute(text("INSERT INTO task_candidates (task_id, role) VALUES ('t', 'A')"))
        db_upgrade(settings)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id, audience FROM human_tasks")).all() == [("t", "A\x1fL")]
            assert conn.execute(text("SELECT task_id, role FROM task_candidates")).all() == [("t", "A")]
            assert conn.execute(text("SELECT state FROM instances")).scalar_one() == '{"tasks": {}}'
        assert _differences(url) == []
    finally:
        engine.dispose()
