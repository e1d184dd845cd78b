"""The rows nearly every write touches (an instance with its state, its human tasks), sent as Core statements.

A step changes two or three of these rows. SQLAlchemy's unit of work spends more CPU sorting,
diffing and bookkeeping them than the statements themselves cost (a quarter of an HTTP step), so
:func:`flush` writes them directly: one INSERT or UPDATE per row, of the columns that changed,
from statements compiled once. The objects then leave the session, so the session's own flush skips
them and still writes whatever else the step added (SLA clocks, invocations, outbox, folios)
after them, which keeps the foreign keys satisfied: instance first, then its tasks.

What stays the same as the unit of work: Python-side column defaults are applied (and set on the
object), computed columns are left to the database, an attribute set to its old value writes
nothing. What differs: the objects leave the session as transient objects (still readable, as
after ``close()``), and columns computed by the database are not read back into them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, update
from sqlalchemy.orm import Session, make_transient
from sqlalchemy.orm.attributes import NO_VALUE, set_committed_value
from sqlalchemy.orm.base import instance_state
from sqlalchemy.sql.dml import Insert, Update

from .models import HumanTask, Instance

__all__ = ["flush"]

# Parents before children: a task row references its instance.
_HOT: tuple[type, ...] = (Instance, HumanTask)


class _Writer:
    """Statements and column lists of one hot class."""

    def __init__(self, cls: type) -> None:
        table = cls.__table__  # type: ignore[attr-defined]
        assert isinstance(table, Table)
        self.table = table
        (self.pk,) = table.primary_key.columns
        # attribute key -> column, without the columns the database computes
        self.columns = {column.key: column for column in table.columns if column.computed is None}
        self.insert: Insert = insert(table)
        self._updates: dict[frozenset[str], Update] = {}

    def update(self, keys: frozenset[str]) -> Update:
        """The UPDATE of exactly ``keys``, built once per set of columns so that its compiled form is reused."""
        statement = self._updates.get(keys)
        if statement is None:
            statement = (update(self.table).where(self.pk == bindparam("_pk"))
                         .values({key: bindparam(f"_v_{key}") for key in keys}))
            self._updates[keys] = statement
        return statement

    def insert_values(self, obj: Any) -> dict[str, Any]:
        values = instance_state(obj).dict
        row = {}
        for key, column in self.columns.items():
            if key in values:
                row[key] = values[key]
            elif column.default is not None and (column.default.is_scalar or column.default.is_callable):
                default = column.default
                value = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
                set_committed_value(obj, key, value)
                row[key] = value
            # else: left out, so a server default applies (or NULL, as the unit of work would send)
        return row

    def changed_values(self, obj: Any) -> dict[str, Any]:
        state = instance_state(obj)
        values = state.dict
        changed = {}
        for key, before in state.committed_state.items():
            if key in self.columns and key in values:
                after = values[key]
                if before is NO_VALUE or before != after:
                    changed[key] = after
        return changed


_WRITERS = {cls: _Writer(cls) for cls in _HOT}


def flush(session: Session) -> None:
    """Flush ``session``: its hot rows as Core statements, then the rest through the unit of work."""
    new = _by_class(session.new)
    dirty = _by_class(session.dirty)
    if not any(new.values()) and not any(dirty.values()):
        session.flush()
        return
    connection = session.connection()  # the session's transaction, without its per-statement ORM layer
    written: list[Any] = []
    for cls in _HOT:
        writer = _WRITERS[cls]
        inserts = [writer.insert_values(obj) for obj in new[cls]]
        if inserts:
            _execute_grouped(connection, writer.insert, inserts)
        for obj in dirty[cls]:
            changed = writer.changed_values(obj)
            if changed:
                params = {f"_v_{key}": value for key, value in changed.items()}
                params["_pk"] = instance_state(obj).dict[writer.pk.key]
                connection.execute(writer.update(frozenset(changed)), params)
        written += new[cls] + dirty[cls]
    for obj in written:
        make_transient(obj)  # out of the session, one object at a time (expunge would walk cascades)
    session.flush()


def _by_class(objects: Iterable[Any]) -> dict[type, list[Any]]:
    grouped: dict[type, list[Any]] = {cls: [] for cls in _HOT}
    for obj in objects:
        bucket = grouped.get(type(obj))
        if bucket is not None:
            bucket.append(obj)
    return grouped


def _execute_grouped(connection: Connection, statement: Insert, rows: list[dict[str, Any]]) -> None:
    """One executemany per set of columns: rows that leave out different defaults cannot share one."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    for group in groups.values():
        connection.execute(statement, group)
