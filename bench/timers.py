"""Timer latency: how late a due timer fires, with 10,000 timers pending, on the real scheduler.

A fresh SQLite file holds 10,000 running instances each waiting on a timer due between one hour
and thirty days from now (one instance is started through the service; the others are copies of
its rows with their own ids and due times, because starting 10,000 instances one by one would
take the benchmark's whole budget and measure something else). Then the real
:class:`engine.scheduler.TimerScheduler` (APScheduler, real clock) runs, and ``MEASURED``
instances are started whose timers fall due a few seconds later, staggered. The delay of a timer
is the time of its ``element_completed`` history event minus its due time: it includes waking up,
locking, loading, running the engine and writing history. The goal (issue 8) is under 1 second;
the nearest competitor polls every 10-120 s.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench.common import Row, median, sqlite_url, timed

PENDING = int(os.environ.get("CAUCE_BENCH_PENDING_TIMERS", "10000"))
MEASURED = int(os.environ.get("CAUCE_BENCH_MEASURED_TIMERS", "20"))
FIRST_DUE_S = 2.0
STAGGER_S = 0.25
GROUP = "timers sqlite"


def _document(pid: str, duration: str) -> str:
    from tests.engine.loop_shapes import _doc, _flow, _process

    return _doc(_process(
        pid,
        '<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="Timer_wait">'
        f'<bpmn:timerEventDefinition><bpmn:timeDuration>"{duration}"</bpmn:timeDuration>'
        '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:endEvent id="end"/>'
        + _flow("start", "Timer_wait") + _flow("Timer_wait", "end"),
    ))


def _fill_pending(wiring, count: int) -> None:  # noqa: ANN001 - Wiring
    """``count`` running instances waiting on timers due in 1 h .. 30 days, in bulk."""
    from sqlalchemy import insert, select

    from engine.models import Instance

    wiring.service.deploy(_document("pending", "PT1H").encode())
    template = wiring.service.start("pending")
    with wiring.service.uow.read() as session:
        row = session.execute(select(Instance.__table__).where(Instance.id == template.id)).mappings().one()
        state = row["state"]
    due_text = template.next_timer_at.isoformat()
    state_text = json.dumps(state)
    assert due_text in state_text, "the timer's due time is stored in the state"
    now = datetime.now(UTC)
    span = timedelta(days=30) - timedelta(hours=1)
    instances = []
    for i in range(count - 1):
        due = now + timedelta(hours=1) + span * (i / max(count - 2, 1))
        new_id = str(uuid.uuid4())
        instances.append({**row, "id": new_id, "next_timer_at": due,
                          "state": json.loads(state_text.replace(due_text, due.isoformat()))})
    with wiring.service.uow.write() as session:
        for start in range(0, len(instances), 1000):
            session.execute(insert(Instance.__table__), instances[start:start + 1000])
        session.commit()


def _fired_at(wiring, instance_ids: list[str]) -> dict[str, datetime]:  # noqa: ANN001 - Wiring
    from sqlalchemy import select

    from engine.models import Event

    with wiring.service.uow.read() as session:
        rows = session.execute(select(Event.instance_id, Event.at).where(
            Event.instance_id.in_(instance_ids), Event.type == "element_completed",
            Event.element_id == "Timer_wait")).all()
    return {instance_id: at for instance_id, at in rows}


def run() -> list[Row]:
    from sqlalchemy import func, select

    from engine.bootstrap import build
    from engine.models import Instance
    from engine.scheduler import TimerScheduler
    from engine.settings import Settings

    rows: list[Row] = []
    with sqlite_url() as url:
        wiring = build(Settings(database_url=url, scheduler_enabled=False))
        scheduler = None
        try:
            _fill_pending(wiring, PENDING)
            with wiring.service.uow.read() as session:
                pending = session.scalar(select(func.count()).select_from(Instance).where(
                    Instance.status == "running", Instance.next_timer_at.is_not(None))) or 0
            earliest_ms = median([timed(wiring.service.earliest_timer_at) for _ in range(50)]) * 1000
            scheduler = TimerScheduler(wiring.service).start()
            keys = []
            for i in range(MEASURED):
                key = f"due_{i}"
                wiring.service.deploy(_document(key, f"PT{FIRST_DUE_S + i * STAGGER_S:.2f}S").encode())
                keys.append(key)
            due: dict[str, datetime] = {}
            for key in keys:
                instance = wiring.service.start(key)
                due[instance.id] = instance.next_timer_at
            deadline = time.monotonic() + FIRST_DUE_S + MEASURED * STAGGER_S + 30
            fired: dict[str, datetime] = {}
            while time.monotonic() < deadline:
                fired = _fired_at(wiring, list(due))
                if len(fired) == len(due):
                    break
                time.sleep(0.2)
            delays = sorted((fired[i] - due[i]).total_seconds() * 1000 for i in fired)
            rows += [
                (GROUP, "pending timers", float(pending), "timers", ">= 10,000"),
                (GROUP, "earliest-due query (once per round)", earliest_ms, "ms", ""),
                (GROUP, f"due timers fired (of {len(due)} started)", float(len(fired)), "timers", f"{len(due)}"),
                (GROUP, "due -> fired delay, median", median(delays) if delays else float("nan"), "ms", "< 1000"),
                (GROUP, "due -> fired delay, max", delays[-1] if delays else float("nan"), "ms", "< 1000"),
                (GROUP, "due -> fired delay, min", delays[0] if delays else float("nan"), "ms", ">= 0"),
            ]
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=True)
            wiring.db.dispose()
    return rows


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run())
