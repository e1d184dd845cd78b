"""Run one function in two real processes released together, as two cauce workers would race."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any


def race_in_processes(target: Callable[..., None], *args: Any, processes: int = 2) -> list[int]:
    """Start ``target(*args, barrier, results)`` in ``processes`` spawned processes; each puts one
    count in ``results`` after waiting on ``barrier``. Returns the counts, sorted; fails if a
    process exits with an error."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=target, args=(*args, barrier, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    counts = sorted(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    return counts
