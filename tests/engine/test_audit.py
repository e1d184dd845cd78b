"""Chain verification on a real database: histories written by real instances, then tampered with
by raw SQL the way someone with database access would, must be reported with the right kind and
the first bad sequence number. Runs on SQLite, and on PostgreSQL when configured."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from engine import audit
from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.errors import NotFound
from engine.history import event_hash
from tests.engine import documents


def _ready(wiring: Wiring, instance_id: str) -> dict[str, str]:
    _, tasks = wiring.service.get_instance(instance_id)
    return {t.element_id: t.id for t in tasks}


def _run_instances(wiring: Wiring, clock: ManualClock) -> dict[str, str]:
    """A few finished and waiting instances of different shapes; returns {name: instance id}."""
    service = wiring.service
    for xml in (documents.approval(), documents.parallel_pair(), documents.timer_escalation()):
        service.deploy(xml.encode())
    ids: dict[str, str] = {}
    approved = service.start("approval", {"solicitante": "ana", "monto": 1.5}, requester="ana")
    clock.advance(minutes=5)
    service.complete_task(_ready(wiring, approved.id)["Task_review"], {"aprobada": "Sí", "comentario": "ñ ok"},
                          actor="luis")
    ids["approved"] = approved.id
    pair = service.start("pair", requester="eva")
    tasks = _ready(wiring, pair.id)
    clock.advance(minutes=1)
    service.complete_task(tasks["Task_a"], {"a": 1}, actor="eva")
    clock.advance(minutes=1)
    service.complete_task(tasks["Task_b"], {"b": 2}, actor="raul")
    ids["pair"] = pair.id
    escalated = service.start("escalation", requester="ana")
    clock.advance(hours=2)
    assert service.fire_due_timers() == 1
    ids["escalated"] = escalated.id
    waiting = service.start("approval", {"solicitante": "leo"})
    ids["waiting"] = waiting.id
    cancelled = service.start("approval", {"solicitante": "mia"})
    service.cancel(cancelled.id, actor="admin", reason="duplicada")
    ids["cancelled"] = cancelled.id
    return ids


def _verify(wiring: Wiring, ids: list[str] | None = None) -> audit.VerifyReport:
    with wiring.service.uow.read() as session:
        return audit.verify_chains(session, ids)


def _events(db: Engine, instance_id: str) -> list[dict]:
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(
            "SELECT seq, type, payload, hash FROM events WHERE instance_id = :i ORDER BY seq"), {"i": instance_id})]


def _sql(db: Engine, statement: str, **params: object) -> None:
    with db.begin() as conn:
        conn.execute(text(statement), params)


def _set_payload(db: Engine, instance_id: str, seq: int, payload: dict) -> None:
    cast = "CAST(:p AS jsonb)" if db.dialect.name == "postgresql" else ":p"
    _sql(db, f"UPDATE events SET payload = {cast} WHERE instance_id = :i AND seq = :s",
         p=json.dumps(payload), i=instance_id, s=seq)


def _seq_of(db: Engine, instance_id: str, type_: str) -> int:
    return next(e["seq"] for e in _events(db, instance_id) if e["type"] == type_)


def test_untouched_histories_verify_clean(wiring: Wiring, clock: ManualClock) -> None:
    ids = _run_instances(wiring, clock)
    report = _verify(wiring)
    assert report.ok and report.problems == []
    assert report.checked == len(ids)
    assert report.events == sum(len(_events(wiring.db, i)) for i in ids.values()) > 20


def test_an_edited_payload_is_reported_as_altered(wiring: Wiring, clock: ManualClock) -> None:
    ids = _run_instances(wiring, clock)
    seq = _seq_of(wiring.db, ids["approved"], "task_completed")
    payload = next(e["payload"] for e in _events(wiring.db, ids["approved"]) if e["seq"] == seq)
    payload = json.loads(payload) if isinstance(payload, str) else payload
    payload["data"]["aprobada"] = "No"
    _set_payload(wiring.db, ids["approved"], seq, payload)
    report = _verify(wiring)
    assert [(p.instance_id, p.kind, p.seq) for p in report.problems] == [(ids["approved"], "altered", seq)]
    assert report.problems[0].definition_key == "approval"
    assert report.checked == len(ids)


def test_an_edited_actor_is_reported_as_altered(wiring: Wiring, clock: ManualClock) -> None:
    ids = _run_instances(wiring, clock)
    seq = _seq_of(wiring.db, ids["pair"], "task_completed")
    _sql(wiring.db, "UPDATE events SET actor = 'someone else' WHERE instance_id = :i AND seq = :s", i=ids["pair"],
         s=seq)
    assert [(p.kind, p.seq) for p in _verify(wiring).problems] == [("altered", seq)]


def test_an_edit_with_a_recomputed_hash_is_still_caught(wiring: Wiring, clock: ManualClock) -> None:
    """Recomputing the edited row's own hash does not help: the next event still links to the old one."""
    ids = _run_instances(wiring, clock)
    instance_id = ids["approved"]
    seq = _seq_of(wiring.db, instance_id, "task_completed")
    with wiring.db.connect() as conn:
        row = conn.execute(text("SELECT * FROM events WHERE instance_id = :i AND seq = :s"),
                           {"i": instance_id, "s": seq}).mappings().one()
    with wiring.service.uow.read() as session:
        from engine.models import Event

        event = session.get(Event, row["id"])
        assert event is not None
        forged = event_hash(instance_id, seq, event.type, event.at, "mallory", event.element_id, event.payload,
                            event.prev_hash)
    _sql(wiring.db, "UPDATE events SET actor = 'mallory', hash = :h WHERE id = :id", h=forged, id=row["id"])
    assert [(p.kind, p.seq) for p in _verify(wiring).problems] == [("altered", seq)]


def test_a_deleted_event_is_reported_as_deleted(wiring: Wiring, clock: ManualClock) -> None:
    ids = _run_instances(wiring, clock)
    seq = _seq_of(wiring.db, ids["pair"], "task_completed")
    _sql(wiring.db, "DELETE FROM events WHERE instance_id = :i AND seq = :s", i=ids["pair"], s=seq)
    report = _verify(wiring)
    assert [(p.instance_id, p.kind, p.seq) for p in report.problems] == [(ids["pair"], "deleted", seq)]


def test_deleting_the_last_events_is_reported_as_truncated(wiring: Wiring, clock: ManualClock) -> None:
    ids = _run_instances(wiring, clock)
    last = len(_events(wiring.db, ids["escalated"]))
    _sql(wiring.db, "DELETE FROM events WHERE instance_id = :i AND seq >= :s", i=ids["escalated"], s=last - 1)
    _sql(wiring.db, "DELETE FROM events WHERE instance_id = :i", i=ids["cancelled"])
    report = _verify(wiring)
    found = {p.instance_id: (p.kind, p.seq) for p in report.problems}
    assert found == {ids["escalated"]: ("truncated", last - 1), ids["cancelled"]: ("truncated", 1)}


def test_swapped_sequence_numbers_are_reported_as_reordered(wiring: Wiring, clock: ManualClock) -> None:
    ids = _run_instances(wiring, clock)
    instance_id = ids["approved"]
    a = _seq_of(wiring.db, instance_id, "task_completed")
    b = a + 1
    _sql(wiring.db, "UPDATE events SET seq = -1 WHERE instance_id = :i AND seq = :s", i=instance_id, s=a)
    _sql(wiring.db, "UPDATE events SET seq = :a WHERE instance_id = :i AND seq = :b", i=instance_id, a=a, b=b)
    _sql(wiring.db, "UPDATE events SET seq = :b WHERE instance_id = :i AND seq = -1", i=instance_id, b=b)
    assert [(p.instance_id, p.kind, p.seq) for p in _verify(wiring).problems] == [(instance_id, "reordered", a)]


def test_a_forged_appended_event_and_a_rewound_instance_row_are_caught(wiring: Wiring, clock: ManualClock) -> None:
    ids = _run_instances(wiring, clock)
    _sql(wiring.db, "UPDATE instances SET last_event_seq = last_event_seq - 1 WHERE id = :i", i=ids["waiting"])
    _sql(wiring.db, "UPDATE instances SET last_event_hash = :h WHERE id = :i", h="0" * 64, i=ids["pair"])
    found = {p.instance_id: p.kind for p in _verify(wiring).problems}
    assert found == {ids["waiting"]: "altered", ids["pair"]: "altered"}


def test_each_damage_is_reported_for_its_own_instance_only(wiring: Wiring, clock: ManualClock) -> None:
    ids = _run_instances(wiring, clock)
    _set_payload(wiring.db, ids["approved"], 1, {"data": {}})
    _sql(wiring.db, "DELETE FROM events WHERE instance_id = :i AND seq = 2", i=ids["pair"])
    report = _verify(wiring)
    assert {p.instance_id: (p.kind, p.seq) for p in report.problems} == {
        ids["approved"]: ("altered", 1), ids["pair"]: ("deleted", 2)}
    only = _verify(wiring, [ids["waiting"], ids["pair"]])
    assert only.checked == 2 and [p.instance_id for p in only.problems] == [ids["pair"]]
    with pytest.raises(NotFound):
        _verify(wiring, ["no-such-instance"])


def test_list_events_pages_in_sequence_order(wiring: Wiring, clock: ManualClock) -> None:
    ids = _run_instances(wiring, clock)
    with wiring.service.uow.read() as session:
        first, total = audit.list_events(session, ids["approved"], page=1, page_size=3)
        second, _ = audit.list_events(session, ids["approved"], page=2, page_size=3)
    assert total == len(_events(wiring.db, ids["approved"]))
    assert [e.seq for e in first] == [1, 2, 3] and [e.seq for e in second] == [4, 5, 6]
    assert first[0].type == "instance_started" and first[0].payload["data"]["solicitante"] == "ana"
    with wiring.service.uow.read() as session, pytest.raises(NotFound):
        audit.list_events(session, "nope")


def test_a_clock_in_another_time_zone_verifies_clean(wiring: Wiring, clock: ManualClock) -> None:
    """Times are stored in UTC, so they are hashed in UTC too; otherwise every event would look altered."""
    from datetime import datetime, timedelta, timezone

    clock.set(datetime(2026, 3, 2, 8, 30, tzinfo=timezone(timedelta(hours=-6))))
    ids = _run_instances(wiring, clock)
    report = _verify(wiring)
    assert report.ok, report.problems
    assert report.checked == len(ids)


@pytest.mark.parametrize("actor, element_id, payload", [
    (None, None, {}),
    ('ana "q"', "Task_1", {"b": [1.5, 1e16, None, True, {"z": 1, "a": "ü"}], "c": 10**30}),
    ("ñ\\\n\u2028\x01😀", "é", {"texto": "línea\tdos", "n": -0.0}),
])
def test_an_event_hash_is_sha256_of_the_whole_event_as_canonical_json(actor: str | None, element_id: str | None,
                                                                      payload: dict) -> None:
    """The documented form (docs/audit.md), which chains stored by every earlier version used: an
    auditor recomputes it with any JSON library, and cauce must keep producing it."""
    at = datetime(2026, 11, 23, 12, 0, 0, 123, tzinfo=UTC)
    body = json.dumps({"instance_id": "i-1", "seq": 7, "type": "task_completed", "at": at.isoformat(),
                       "actor": actor, "element_id": element_id, "payload": payload, "prev_hash": "ab" * 32},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = hashlib.sha256(body.encode()).hexdigest()
    assert event_hash("i-1", 7, "task_completed", at, actor, element_id, payload, "ab" * 32) == expected
