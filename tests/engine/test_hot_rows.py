"""The step's own rows written with Core (engine/hot_rows.py) land as the unit of work would land them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from engine import history
from engine.bootstrap import Wiring
from engine.models import HumanTask, Instance, TaskCandidate
from tests.engine import documents

# Rows made by hand, not by running a diagram: there is nothing for replay to re-execute.
pytestmark = pytest.mark.replay_diverges

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@contextmanager
def _statements(wiring: Wiring) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, params, context, executemany) -> None:  # noqa: ANN001
        seen.append(" ".join(statement.split()))

    event.listen(wiring.db, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(wiring.db, "before_cursor_execute", record)


def _new_instance(wiring: Wiring) -> tuple[Instance, HumanTask]:
    """A new instance, its state and a task with a candidate role, the way a step adds them."""
    definition = wiring.service.deploy(documents.approval().encode()).definition
    with wiring.service.uow.write() as session:
        # revision and called_definitions left to their Python-side defaults
        instance = Instance(id="i-1", definition_id=definition.id, definition_version=1, definition_key="approval",
                            status="running", started_at=NOW, updated_at=NOW, data={"a": 1}, last_event_seq=0,
                            last_event_hash="", state={"tasks": {}})
        session.add(instance)
        task = HumanTask(id="t-1", instance_id="i-1", definition_key="approval", process_key="approval",
                         element_id="Task_review", name="Revisar", lane="Mesa de Servicio",
                         candidate_roles=["Soporte"], status="ready", created_at=NOW)
        session.add(task)
        # Flushed by the unit of work, after the task it references
        session.add(TaskCandidate(task_id="t-1", role="Soporte"))
        history.append(session, instance, "instance_started", at=NOW)
        history.write_pending(session)
        session.commit()
    return instance, task


def test_new_rows_get_their_defaults_and_rows_that_reference_them_follow(wiring: Wiring) -> None:
    instance, task = _new_instance(wiring)
    # The defaults are on the objects a caller got back, as after a flush of the unit of work
    assert (instance.revision, instance.called_definitions, instance.last_event_seq) == (0, {}, 1)
    assert task.audience and task.status == "ready"
    with wiring.service.uow.read() as session:
        stored = session.get(Instance, "i-1")
        assert stored is not None and (stored.revision, stored.called_definitions, stored.data) == (0, {}, {"a": 1})
        assert stored.last_event_hash == instance.last_event_hash
        row = session.get(HumanTask, "t-1")
        assert row is not None and row.audience == task.audience and row.priority_rank == 4
        assert session.scalars(select(TaskCandidate.role).where(TaskCandidate.task_id == "t-1")).all() == ["Soporte"]
        assert session.scalar(select(Instance.state).where(Instance.id == "i-1")) == {"tasks": {}}


def test_an_update_sends_only_what_changed(wiring: Wiring) -> None:
    _new_instance(wiring)
    with _statements(wiring) as seen, wiring.service.uow.write() as session:
        instance = session.get(Instance, "i-1")
        task = session.get(HumanTask, "t-1")
        assert instance is not None and task is not None
        instance.status = instance.status  # the same value: nothing to write
        instance.data = {"a": 2}
        task.status = "completed"
        history.write_pending(session)
        session.commit()
    updates = [s for s in seen if s.startswith("UPDATE")]
    assert len(updates) == 2, updates
    assert updates[0].startswith("UPDATE instances SET data=") and "status" not in updates[0]
    assert updates[1].startswith("UPDATE human_tasks SET status=")
    with wiring.service.uow.read() as session:
        stored = session.get(Instance, "i-1")
        assert stored is not None and (stored.data, stored.status) == ({"a": 2}, "running")
        assert session.get(HumanTask, "t-1").status == "completed"  # type: ignore[union-attr]
