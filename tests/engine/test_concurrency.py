"""Every mutation of one instance is serialized: no double completion, no lost update."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from engine.bootstrap import Wiring
from engine.errors import Conflict
from tests.engine import documents


def _race(n: int, action: Callable[[int], Any]) -> list[Any]:
    """Run ``action(i)`` in ``n`` threads released at the same moment; collect results or errors."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = action(i)
        except Exception as exc:  # the outcome under test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_concurrent_completions_give_one_success_and_one_conflict(wiring: Wiring) -> None:
    wiring.service.deploy(documents.approval().encode())
    for _ in range(5):  # several rounds: a race that passes by luck once should not pass five times
        instance = wiring.service.start("approval")
        _, tasks = wiring.service.get_instance(instance.id)
        task_id = tasks[0].id
        results = _race(2, lambda i, task_id=task_id: wiring.service.complete_task(
            task_id, {"aprobada": "Sí" if i == 0 else "No"}, actor=f"user{i}"))
        successes = [r for r in results if not isinstance(r, Exception)]
        conflicts = [r for r in results if isinstance(r, Conflict)]
        assert len(successes) == 1 and len(conflicts) == 1, results
        final, _ = wiring.service.get_instance(instance.id)
        winner = successes[0]
        assert final.status == "completed" and final.data["aprobada"] == winner.data["aprobada"]
        assert wiring.service.get_task(task_id).completed_by in ("user0", "user1")


def test_parallel_branches_completed_concurrently_lose_no_update(wiring: Wiring) -> None:
    wiring.service.deploy(documents.parallel_pair().encode())
    instance = wiring.service.start("pair")
    _, tasks = wiring.service.get_instance(instance.id)
    by_element = {t.element_id: t.id for t in tasks}
    values = {"Task_a": {"a": 20}, "Task_b": {"b": 22}}
    order = list(by_element)
    results = _race(2, lambda i: wiring.service.complete_task(by_element[order[i]], values[order[i]]))
    assert not any(isinstance(r, Exception) for r in results), results
    final, ready = wiring.service.get_instance(instance.id)
    assert final.status == "completed" and final.data["total"] == 42 and ready == []
    assert final.revision == 3  # start + two serialized completions, none overwritten
