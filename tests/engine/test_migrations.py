"""The migrations build exactly the schema the models declare, so `cauce db upgrade` on a
production database gives the tables the code expects (a model change without its migration
fails here, not in production)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from engine.models import Base


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
