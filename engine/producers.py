"""The producers' register: the CURPs a Confrontas layout is checked against.

The register is loaded from the CSV the programme owner keeps (``cauce register import``) and read
by ``validate_curp_layout`` / ``reconcile_curp`` through :class:`StepRegister`, which asks for a
whole layout's CURPs in a few queries instead of one per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, func, select, update

from .models.files import Producer
from .steps import current_step
from .uow import UnitOfWork

__all__ = ["LoadReport", "ProducerRegister", "StepRegister"]

#: CURPs per ``IN (…)``: well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500


@dataclass(frozen=True)
class LoadReport:
    added: int
    updated: int
    unchanged: int
    removed: int
    total: int  # CURPs in the register afterwards


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


class ProducerRegister:
    """Loads the register (one transaction: a failed import leaves the previous register)."""

    def __init__(self, uow: UnitOfWork, *, clock: Callable[[], datetime] | None = None) -> None:
        self.uow = uow
        self.clock = clock or (lambda: datetime.now(UTC))

    def load(self, producers: Mapping[str, str | None], *, replace: bool = False) -> LoadReport:
        """Add the CURPs of ``producers`` (normalised CURP → name) and update changed names;
        with ``replace``, also remove every CURP not in ``producers`` (the file is the register)."""
        now = self.clock()
        with self.uow.write() as session:
            existing = {row[0]: row[1] for row in session.execute(select(Producer.curp, Producer.name))}
            new = [{"curp": c, "name": n, "imported_at": now} for c, n in producers.items() if c not in existing]
            changed = [{"k": c, "name": n, "imported_at": now} for c, n in producers.items()
                       if c in existing and n is not None and existing[c] != n]
            if new:
                session.execute(Producer.__table__.insert(), new)
            if changed:
                table = Producer.__table__
                session.execute(update(table).where(table.c.curp == bindparam("k"))
                                .values(name=bindparam("name"), imported_at=bindparam("imported_at")), changed)
            gone = sorted(set(existing) - set(producers)) if replace else []
            for chunk in _chunks(gone):
                session.execute(delete(Producer).where(Producer.curp.in_(chunk)))
            total = int(session.scalar(select(func.count()).select_from(Producer)) or 0)
            session.commit()
        return LoadReport(added=len(new), updated=len(changed), unchanged=len(producers) - len(new) - len(changed),
                          removed=len(gone), total=total)

    def count(self) -> int:
        with self.uow.read() as session:
            return int(session.scalar(select(func.count()).select_from(Producer)) or 0)


class StepRegister:
    """``handlers.curp_layout.BulkRegister`` over the running step's session."""

    def present(self, curps: Iterable[str]) -> set[str]:
        session = current_step().session
        wanted = sorted({c for c in curps if c})
        found: set[str] = set()
        for chunk in _chunks(wanted):
            found.update(session.scalars(select(Producer.curp).where(Producer.curp.in_(chunk))))
        return found

    def __call__(self, curp: str) -> bool:
        return curp in self.present([curp])
