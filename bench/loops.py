"""Cost of a step with history: load + complete + save at turn 1 vs turn 2,000, and state size.

Through the engine's service on a real database (SQLite, and PostgreSQL when
``CAUCE_BENCH_DATABASE_URL`` or ``CAUCE_TEST_DATABASE_URL`` is set): one instance of the plain
loop and one of the parallel loop are driven for 2,000 turns. A turn's cost is the time of
``complete_task`` (lock, load the state, complete, run to the next wait, prune, save, history),
summed over the tasks of the turn; the ratio compares the medians of turns 1–20 and 1,981–2,000.
The stored state is measured as the JSON text the database holds, after 10 and 2,000 turns.
"""

from __future__ import annotations

import json
import os

from bench.common import Row, databases, median, timed

TURNS = int(os.environ.get("CAUCE_BENCH_TURNS", "2000"))


def _drive(service, key: str) -> tuple[list[float], int, int]:  # noqa: ANN001 - WorkflowService
    from engine.models import InstanceState

    instance = service.start(key, {"limit": TURNS + 1})
    costs: list[float] = []
    sizes: dict[int, int] = {}
    for turn in range(1, TURNS + 1):
        _, tasks = service.get_instance(instance.id)
        costs.append(sum(timed(lambda t=t: service.complete_task(t.id, {})) for t in tasks))
        if turn in (10, TURNS):
            with service.uow.read() as session:
                state = session.get(InstanceState, instance.id).state
            sizes[turn] = len(json.dumps(state))
    return costs, sizes[10], sizes[TURNS]


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
                    costs, size_10, size_end = _drive(wiring.service, key)
                    first, last = median(costs[:20]), median(costs[-20:])
                    group = f"loop {key} {db_name}"
                    rows += [
                        (group, "turn 1-20 median (load+complete+save)", first * 1000, "ms", ""),
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
