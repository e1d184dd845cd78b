"""Replay speed: recorded events re-executed per second, on one core, over a realistic mix.

The goal of issue 6 is 2,000 events per second or more, so that ``cauce audit replay --all`` over
a year of a directorate's instances finishes in minutes. The histories are written by the service
on a real database (SQLite, and PostgreSQL when configured), with a mix of what production holds:

* the approval double (user task, exclusive gateway), finished and still waiting;
* a parallel split and join with two user tasks;
* a timer escalation fired by the scheduler;
* a service task whose handler result replay feeds back;
* the real monitoring procedure MCD-2.1 from ``bpmn/`` (handler, user task, gateway, one-hour
  timer) for many turns: a long-lived instance, the kind whose replay takes longest.

Every instance is replayed once untimed (parsing the definitions, as the first replay in a process
does), then the whole set is replayed ``ROUNDS`` times through :func:`engine.replay.replay_many`
(what ``cauce audit replay --all`` runs) and the best round gives the rate. Replay is CPU-bound
and single-threaded, so the goal row divides by the process's CPU time: on a shared machine the
wall clock also counts the time other processes held the core (it is printed too). Each replay
must say ``verified``; a faster replay that checks less would not count.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from bench.common import Row, databases

MONITORING_TURNS = int(os.environ.get("CAUCE_BENCH_REPLAY_TURNS", "200"))
SMALL = int(os.environ.get("CAUCE_BENCH_REPLAY_INSTANCES", "40"))  # instances of each small shape
ROUNDS = 3
GOAL_EVENTS_S = 2000
BPMN_DOSI = Path(__file__).resolve().parents[1] / "bpmn" / "dosi"


def _ready(service: Any, instance_id: str) -> dict[str, str]:
    _, tasks = service.get_instance(instance_id)
    return {t.element_id: t.id for t in tasks}


def _histories(wiring: Any, clock: Any) -> list[str]:
    """Write the mix of histories; returns the instance ids."""
    from tests.engine import documents

    service = wiring.service
    for xml in (documents.approval(), documents.parallel_pair(), documents.timer_escalation(),
                documents.service_call()):
        service.deploy(xml.encode())
    for name in ("MP-DGTIT-DOSI-SAD-MCD-2.2.bpmn", "MP-DGTIT-DOSI-SAD-MCD-2.1.bpmn"):
        service.deploy((BPMN_DOSI / name).read_bytes(), source_name=name)
    ids: list[str] = []
    for n in range(SMALL):
        done = service.start("approval", {"solicitante": f"u{n}"}, requester="ana")
        clock.advance(minutes=3)
        service.complete_task(_ready(service, done.id)["Task_review"],
                              {"aprobada": "Sí" if n % 3 else "No", "comentario": "revisado"}, actor="luis")
        waiting = service.start("approval", {"solicitante": f"w{n}"}, requester="ana")
        pair = service.start("pair", requester="eva")
        tasks = _ready(service, pair.id)
        service.complete_task(tasks["Task_a"], {"a": n}, actor="eva")
        service.complete_task(tasks["Task_b"], {"b": n}, actor="raul")
        escalated = service.start("escalation")
        called = service.start("service_call", {"folio_base": "INC"})
        service.complete_task(_ready(service, called.id)["Task_review"], {}, actor="luis")
        ids += [done.id, waiting.id, pair.id, escalated.id, called.id]
    clock.advance(hours=2)
    while service.fire_due_timers():
        pass
    monitoring = service.start("MP_DGTIT_DOSI_SAD_MCD_2_1", {"destinos_monitoreo": ["10.10.20.15:443"]},
                               requester="ana")
    for turn in range(MONITORING_TURNS):
        service.complete_task(_ready(service, monitoring.id)["Activity_1_revision"], {
            "funcionamiento_correcto": "Sí", "observaciones_monitoreo": f"Turno {turn}: todo en verde"},
            actor="operador")
        clock.advance(hours=1, seconds=1)
        assert service.fire_due_timers() == 1
    ids.append(monitoring.id)
    return ids


def _handlers() -> Any:
    from engine.handler_registry import HandlerRegistry

    registry = HandlerRegistry()
    counter = iter(range(1, 10**9))
    registry.register("stamp", lambda value, **_: f"{value}-{next(counter):04d}")
    registry.register("probe", lambda **_: {"down": [], "all_up": True})
    registry.register("notify", lambda **_: {"status": "sent"})
    return registry


def _replay_all(wiring: Any, ids: list[str]) -> int:
    """Replay every instance as ``cauce audit replay --all`` does; returns the events replayed."""
    from engine.replay import replay_many

    service = wiring.service
    events = 0
    with service.uow.read() as session:
        for result in replay_many(session, ids, runtime=service.runtime, specs=service.specs):
            assert result.status == "verified", (result.instance_id, result.divergence, result.error)
            events += result.events
    return events


def run() -> list[Row]:
    from datetime import UTC, datetime

    from engine.bootstrap import build
    from engine.clock import ManualClock
    from engine.settings import Settings

    rows: list[Row] = []
    for db_name, database in databases():
        with database() as url:
            clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
            wiring = build(Settings(database_url=url, scheduler_enabled=False), handlers=_handlers(), clock=clock)
            try:
                ids = _histories(wiring, clock)
                events = _replay_all(wiring, ids)  # warm-up: parses each definition once
                rounds = [_timed_both(lambda w=wiring, i=ids: _replay_all(w, i)) for _ in range(ROUNDS)]
            finally:
                wiring.db.dispose()
            label = f"({db_name}, {len(ids)} instances, {events} events)"
            rows.append(("replay", f"events replayed per CPU second, one core {label}",
                         events / min(cpu for _, cpu in rounds), "events/s", f">= {GOAL_EVENTS_S:,}"))
            rows.append(("replay", f"events replayed per wall-clock second {label}",
                         events / min(wall for wall, _ in rounds), "events/s", "(shared machine)"))
    return rows


def _timed_both(fn: Any) -> tuple[float, float]:
    """(wall-clock, CPU) seconds of ``fn``: on a busy shared machine only the CPU time says what one
    free core does (replay is single-threaded and CPU-bound; its few batched queries wait little)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run())
