"""Folio counters: one row per series and year, incremented in the step's transaction.

The number is taken with a single ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on the
``(series, year)`` row. On PostgreSQL the statement locks that row until the step commits, so two
instances taking folios of one series queue on it (instances stay locked one at a time by the
service; the counter is the only row they share); on SQLite write transactions are serialized
anyway (``BEGIN IMMEDIATE``). Because it runs in the step's transaction, a step that fails or is
rolled back gives its number back: folios are unique *and* gap-free per series and year.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import FolioCounter
from .steps import current_step

__all__ = ["FOLIO_TIMEZONE", "next_folio_number", "next_number"]

#: The year of a folio is the year in Mexico City: a request filed on 31 December at 8 p.m. is
#: from that year, although it is already 1 January in UTC.
FOLIO_TIMEZONE = ZoneInfo("America/Mexico_City")


def next_number(session: Session, series: str, year: int) -> int:
    """Take the next number of ``series`` in ``year`` inside ``session``'s transaction."""
    table = FolioCounter.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        insert = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:  # pragma: no cover - cauce supports these two
        raise RuntimeError(f"Folio counters are not implemented for {dialect}.")
    statement = (
        insert(table).values(series=series, year=year, last_number=1)
        .on_conflict_do_update(index_elements=[table.c.series, table.c.year],
                               set_={"last_number": table.c.last_number + 1})
        .returning(table.c.last_number)
    )
    return int(session.execute(statement).scalar_one())


def next_folio_number(series: str) -> tuple[int, int]:
    """``(year, number)`` for the ``folio`` handler: the step's year, its transaction (see the
    module docstring); bound to the handler by the composition root."""
    context = current_step()
    year = context.now.astimezone(FOLIO_TIMEZONE).year
    return year, next_number(context.session, series, year)
