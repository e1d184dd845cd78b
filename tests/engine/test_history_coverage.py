"""Every state change of an instance appears in its history, with a snake_case event name."""

from __future__ import annotations

import re

from SpiffWorkflow.bpmn.util import BpmnEvent
from sqlalchemy import text

from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.parsing import parse_definition
from engine.runtime import WorkflowRuntime
from engine.step_events import MESSAGE_RECEIVED, TIMER_FIRED, caught_event
from tests.engine import documents
from tests.engine.loop_shapes import _doc, _flow, _process


def _history(wiring: Wiring, instance_id: str) -> list[tuple[str, str | None, str | None, dict]]:
    import json

    with wiring.db.connect() as conn:
        return [(t, e, a, json.loads(p) if isinstance(p, str) else p) for t, e, a, p in conn.execute(text(
            "SELECT type, element_id, actor, payload FROM events WHERE instance_id = :i ORDER BY seq"),
            {"i": instance_id})]


def _ready(wiring: Wiring, instance_id: str) -> dict[str, str]:
    _, tasks = wiring.service.get_instance(instance_id)
    return {t.element_id: t.id for t in tasks}


def test_inbox_changes_timers_and_ends_are_recorded(wiring: Wiring, clock: ManualClock) -> None:
    identity, inbox, service = wiring.identity, wiring.inbox, wiring.service
    identity.create_user("mesa1", ["mesa-de-servicio"])
    identity.create_user("mesa2", ["mesa-de-servicio"])
    one, two = identity.find_actor("mesa1"), identity.find_actor("mesa2")
    assert one is not None and two is not None
    service.deploy(documents.approval().encode())
    service.deploy(documents.timer_escalation().encode())
    approval = service.start("approval", {"solicitante": "ana"}, requester="ana")
    task_id = _ready(wiring, approval.id)["Task_review"]
    inbox.claim(one, task_id)
    inbox.unclaim(one, task_id)
    inbox.assign(one, task_id, "mesa2")
    service.complete_task(task_id, {"aprobada": "Sí"}, actor="mesa2")
    history = _history(wiring, approval.id)
    types = [t for t, *_ in history]
    for expected in ("instance_started", "task_ready", "task_claimed", "task_unclaimed", "task_assigned",
                     "task_completed", "element_completed", "instance_completed"):
        assert expected in types, expected
    assigned = next(p for t, _, _, p in history if t == "task_assigned")
    assert (assigned["task_id"], assigned["assignee"]) == (task_id, "mesa2")
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", t) for t in types)

    escalated = service.start("escalation")
    clock.advance(hours=2)
    assert service.fire_due_timers() == 1
    history = _history(wiring, escalated.id)
    fired = [(t, e, a, p) for t, e, a, p in history if t == TIMER_FIRED]
    assert [(e, a, p["timer"], p["process"]) for _, e, a, p in fired] == [("Timer_1h", "scheduler", "duration",
                                                                           "escalation")]
    position = history.index(fired[0])
    assert history[position - 1][:2] == ("element_completed", "Timer_1h")  # right after the completion it explains

    cancelled = service.start("escalation")
    service.cancel(cancelled.id, actor="admin", reason="duplicada")
    assert _history(wiring, cancelled.id)[-1][0] == "instance_cancelled"


def _message_catch() -> str:
    return _doc(_process(
        "waits_message",
        '<bpmn:startEvent id="start"/>'
        '<bpmn:intermediateCatchEvent id="Catch_pago"><bpmn:messageEventDefinition messageRef="Msg_pago"/>'
        "</bpmn:intermediateCatchEvent>"
        '<bpmn:endEvent id="end"/>' + _flow("start", "Catch_pago") + _flow("Catch_pago", "end"),
    )).replace("</bpmn:definitions>", '<bpmn:message id="Msg_pago" name="pago_recibido"/></bpmn:definitions>')


def test_a_caught_message_is_named_and_a_thrown_or_plain_element_is_not() -> None:
    parsed = parse_definition(_message_catch().encode())
    runtime = WorkflowRuntime()
    runtime.instrument([parsed.spec])
    workflow = runtime.create(parsed.spec, {}, {})
    started = runtime.advance(workflow)
    assert [caught_event(workflow, e) for e in started.completed] == [None]  # the start event
    waiting = next(t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "Catch_pago")
    definition = waiting.task_spec.event_definition
    result = runtime.advance(workflow, lambda: workflow.catch(BpmnEvent(definition, {"folio": 7})))
    caught = [caught_event(workflow, e) for e in result.completed]
    assert caught[0] == (MESSAGE_RECEIVED, {"task_id": result.completed[0].task_id, "process": "waits_message",
                                            "message": "pago_recibido"})
    assert caught[1:] == [None] and runtime.status(workflow) == "completed"


def _inclusive() -> str:
    """start -> inclusive split (a > 0, b > 0) -> Task_a (with a 1-day boundary timer) / Task_b -> join -> end."""
    return _doc(_process(
        "inclusive",
        '<bpmn:startEvent id="start"/><bpmn:inclusiveGateway id="split"/>'
        '<bpmn:userTask id="Task_a"/><bpmn:userTask id="Task_b"/>'
        '<bpmn:boundaryEvent id="Timer_a" attachedToRef="Task_a" cancelActivity="false">'
        '<bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
        '</bpmn:boundaryEvent><bpmn:endEvent id="end_timer"/>'
        '<bpmn:inclusiveGateway id="join"/><bpmn:endEvent id="end"/>'
        + _flow("start", "split") + _flow("split", "Task_a", "a &gt; 0") + _flow("split", "Task_b", "b &gt; 0")
        + _flow("Task_a", "join") + _flow("Task_b", "join") + _flow("join", "end") + _flow("Timer_a", "end_timer"),
    ))


def _flows_taken(wiring: Wiring, instance_id: str) -> list[tuple[str | None, str, str]]:
    history = _history(wiring, instance_id)
    taken = []
    for position, (type_, element_id, _, payload) in enumerate(history):
        if type_ == "gateway_flow_taken":
            # right after the gateway's completion (or another flow of the same completion)
            previous = next(h for h in reversed(history[:position]) if h[0] != "gateway_flow_taken")
            assert previous[:2] == ("element_completed", element_id)
            assert payload["task_id"] == previous[3]["task_id"]
            taken.append((element_id, payload["flow"], payload["target"]))
    return taken


def test_the_flows_gateways_take_are_recorded(wiring: Wiring) -> None:
    service = wiring.service
    service.deploy(documents.approval().encode())
    service.deploy(_inclusive().encode())
    rejected = service.start("approval", {"solicitante": "ana"})
    service.complete_task(_ready(wiring, rejected.id)["Task_review"], {"aprobada": "No"}, actor="luis")
    assert _flows_taken(wiring, rejected.id) == [("gw", "f_gw_end_no", "end_no")]
    both = service.start("inclusive", {"a": 1, "b": 1})
    assert _flows_taken(wiring, both.id) == [("split", "f_split_Task_a", "Task_a"), ("split", "f_split_Task_b",
                                                                                      "Task_b")]
    only_b = service.start("inclusive", {"a": 0, "b": 1})
    assert _flows_taken(wiring, only_b.id) == [("split", "f_split_Task_b", "Task_b")]
    tasks = _ready(wiring, both.id)
    service.complete_task(tasks["Task_a"], {}, actor="eva")
    service.complete_task(tasks["Task_b"], {}, actor="eva")
    assert len(_flows_taken(wiring, both.id)) == 2  # the join has one outgoing flow: no choice, no event
