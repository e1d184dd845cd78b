"""Audit of the history: recompute every instance's hash chain and say where it breaks.

The chain is only evidence if someone checks it. :func:`verify_chains` re-derives each event's
hash from its stored columns (the canonical form of :mod:`engine.history`) and follows the links,
so an edit made directly in the database (``UPDATE``/``DELETE`` with raw SQL, a restored backup
that lost rows, swapped sequence numbers) is reported with the first sequence number that no
longer holds. The report names the kind of damage because an auditor reacts differently to a
changed row than to a missing one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .errors import NotFound
from .history import event_hash
from .models import Event, Instance

# How many instances are checked per query: bounds memory on large databases.
_BATCH = 200

ALTERED = "altered"  # a stored event's content or hash was changed
DELETED = "deleted"  # a gap in the sequence: an event in the middle is missing
REORDERED = "reordered"  # events are intact but sit at another sequence number than they were written at
TRUNCATED = "truncated"  # the last events are missing (the instance row knows of more)


@dataclass(frozen=True)
class ChainProblem:
    """The first place where one instance's history stops being the one that was written."""

    instance_id: str
    definition_key: str
    kind: str
    seq: int
    message: str


@dataclass
class VerifyReport:
    checked: int = 0
    events: int = 0
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chains(session: Session, instance_ids: Sequence[str] | None = None) -> VerifyReport:
    """Check the chains of ``instance_ids`` (default: every instance) and report the broken ones.

    On PostgreSQL the check runs in one REPEATABLE READ snapshot when the session has not begun
    yet: otherwise an event committed between reading an instance and reading its events would
    look like tampering.
    """
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    report = VerifyReport()
    query = select(Instance.id, Instance.definition_key, Instance.last_event_seq, Instance.last_event_hash)
    if instance_ids is not None:
        wanted = list(dict.fromkeys(instance_ids))
        found = set(session.scalars(select(Instance.id).where(Instance.id.in_(wanted))))
        missing = [i for i in wanted if i not in found]
        if missing:
            raise NotFound(f"Instance {missing[0]} does not exist.", instance_ids=missing)
        query = query.where(Instance.id.in_(wanted))
    for batch in _batches(session.execute(query.order_by(Instance.id)).all(), _BATCH):
        events: dict[str, list[Event]] = {row.id: [] for row in batch}
        for event in session.scalars(select(Event).where(Event.instance_id.in_(list(events)))
                                     .order_by(Event.instance_id, Event.seq)):
            events[event.instance_id].append(event)
        for row in batch:
            report.checked += 1
            report.events += len(events[row.id])
            problem = check_chain(row.id, row.definition_key, row.last_event_seq, row.last_event_hash,
                                  events[row.id])
            if problem is not None:
                report.problems.append(problem)
        session.expunge_all()  # the events of a batch are not needed again
    return report


def check_chain(instance_id: str, definition_key: str, last_seq: int, last_hash: str,
                events: Sequence[Event]) -> ChainProblem | None:
    """The first problem in one instance's events (ordered by seq), or None if the chain holds."""

    def problem(kind: str, seq: int, message: str) -> ChainProblem:
        return ChainProblem(instance_id, definition_key, kind, seq, message)

    by_hash = {e.hash: e for e in events}
    previous = ""
    for position, event in enumerate(events, start=1):
        if event.seq != position:
            if event.seq > position:
                return problem(DELETED, position, f"event {position} is missing (the next stored event is "
                                                  f"{event.seq}).")
            return problem(ALTERED, position, f"unexpected sequence number {event.seq} at position {position}.")
        if _recompute(event, event.seq) != event.hash:
            original = _written_at(event, len(events) + 1)
            if original is not None:
                return problem(REORDERED, event.seq, f"event {event.seq} ({event.type}) was written as event "
                                                     f"{original}.")
            return problem(ALTERED, event.seq, f"event {event.seq} ({event.type}) does not match its hash.")
        if event.prev_hash != previous:
            linked = by_hash.get(event.prev_hash)
            if linked is not None:
                return problem(REORDERED, event.seq, f"event {event.seq} ({event.type}) follows event "
                                                     f"{linked.seq}, not event {event.seq - 1}.")
            # The event itself is intact, so its predecessor was rewritten (hash recomputed).
            return problem(ALTERED, event.seq - 1, f"event {event.seq - 1} was rewritten: event {event.seq} "
                                                   "links to a different hash.")
        previous = event.hash
    count = len(events)
    if last_seq > count:
        return problem(TRUNCATED, count + 1, f"the instance recorded {last_seq} events; {count} are stored.")
    if last_seq < count:
        return problem(ALTERED, last_seq + 1, f"events after {last_seq}, the instance's last recorded event, "
                                              "were added outside the engine.")
    if count and last_hash != previous:
        return problem(ALTERED, count, f"event {count} is not the last event the instance recorded.")
    return None


def _recompute(event: Event, seq: int) -> str:
    return event_hash(event.instance_id, seq, event.type, event.at, event.actor, event.element_id,
                      event.payload, event.prev_hash)


def _written_at(event: Event, upper: int) -> int | None:
    """The sequence number under which this event's stored hash was computed, if another one."""
    for seq in range(1, upper + 1):
        if seq != event.seq and _recompute(event, seq) == event.hash:
            return seq
    return None


def _batches(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def list_events(session: Session, instance_id: str, *, page: int = 1,
                page_size: int = 100) -> tuple[list[Event], int]:
    """One page of an instance's history in sequence order, and the number of events it has."""
    if session.get(Instance, instance_id) is None:
        raise NotFound(f"Instance {instance_id} does not exist.", instance_id=instance_id)
    total = session.scalar(select(func.count()).select_from(Event).where(Event.instance_id == instance_id)) or 0
    rows = list(session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.seq)
                                .offset((page - 1) * page_size).limit(page_size)))
    return rows, total
