"""Cost of a step with history: load + complete + save at turn 1 vs turn 2,000, and state size.

Through the engine's service on a real database (SQLite, and PostgreSQL when
``CAUCE_BENCH_DATABASE_URL`` or ``CAUCE_TEST_DATABASE_URL`` is set): one instance of the plain
loop and one of the parallel loop are driven for 2,000 turns. A turn's cost is the time of
``complete_task`` (lock, load the state, complete, run to the next wait, prune, save, history),
summed over the tasks of the turn. The speed of a shared machine drifts over minutes, so turn 1 is
not taken from the start of the run: for the last 20 turns a fresh instance takes its turns 1–20
alternately with the old one's 1,981–2,000, and the ratio compares those two medians, measured in
the same seconds. The stored state is the JSON text the database holds, after 10 and 2,000 turns.
"""

from __future__ import annotations

import json
import os

from bench.common import Row, databases, median, timed

TURNS = int(os.environ.get("CAUCE_BENCH_TURNS", "2000"))


def _turn(service, instance_id: str) -> float:  # noqa: ANN001 - WorkflowService
    _, tasks = service.get_instance(instance_id)
    return sum(timed(lambda t=t: service.complete_task(t.id, {})) for t in tasks)


def _state_size(service, instance_id: str) -> int:  # noqa: ANN001 - WorkflowService
    from sqlalchemy import select

    from engine.models import Instance

    with service.uow.read() as session:
        return len(json.dumps(session.scalar(select(Instance.state).where(Instance.id == instance_id))))


def _drive(service, key: str) -> tuple[list[float], list[float], int, int]:  # noqa: ANN001 - WorkflowService
    """(fresh instance's turns 1-20, old instance's turns 1981-2000, state size at 10, at 2000)."""
    old = service.start(key, {"limit": TURNS + 1}).id
    size_10 = 0
    for turn in range(1, TURNS - 19):
        _turn(service, old)
        if turn == 10:
            size_10 = _state_size(service, old)
    fresh = service.start(key, {"limit": TURNS + 1}).id
    firsts, lasts = [], []
    for _ in range(20):
        firsts.append(_turn(service, fresh))
        lasts.append(_turn(service, old))
    return firsts, lasts, size_10, _state_size(service, old)


def run() -> list[Row]:
    from engine.bootstrap import build
    from engine.settings import Settings
    from tests.engine.loop_shapes import PARALLEL, PLAIN

    rows: list[Row] = []
    for db_name, database in databases():
        with database() as url:
            wiring = build(Settings(database_url=url, scheduler_enabled=False))
            try:
                wiring.service.deploy(PLAIN.encode())
                wiring.service.deploy(PARALLEL.encode())
                for key in ("plain", "parallel"):
                    firsts, lasts, size_10, size_end = _drive(wiring.service, key)
                    first, last = median(firsts), median(lasts)
                    group = f"loop {key} {db_name}"
                    rows += [
                        (group, "turn 1-20 median (load+complete+save), fresh instance", first * 1000, "ms", ""),
                        (group, f"turn {TURNS - 19}-{TURNS} median", last * 1000, "ms", ""),
                        (group, f"turn {TURNS} vs turn 1", last / first, "x", "<= 1.5"),
                        (group, "stored state after 10 turns", size_10 / 1024, "KiB", ""),
                        (group, f"stored state after {TURNS} turns", size_end / 1024, "KiB", ""),
                        (group, f"state {TURNS} vs 10 turns", size_end / size_10, "x", "<= 2"),
                    ]
            finally:
                wiring.db.dispose()
    return rows


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run())
