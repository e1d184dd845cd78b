"""Handler execution policies: async handlers run in the worker, retry with backoff, raise incidents."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.bootstrap import Wiring, build
from engine.clock import ManualClock
from engine.errors import Conflict
from engine.handler_registry import HandlerRegistry, RetryPolicy
from engine.invocations import current_invocation
from engine.models import Event
from engine.models.invocations import HandlerInvocation
from engine.replay import replay_instance
from engine.settings import Settings
from handlers.errors import BusinessError, PermanentError
from tests.engine import documents
from tests.engine.handler_doubles import FlakyStamp

RETRY = {"max_attempts": 3, "base_s": 10.0, "factor": 2.0, "cap_s": 15.0}


def _ready(wiring: Wiring, instance_id: str) -> list[str]:
    return [t.element_id for t in wiring.service.get_instance(instance_id)[1]]


def _invocation(wiring: Wiring, instance_id: str) -> HandlerInvocation:
    with wiring.service.uow.read() as session:
        row = session.scalars(select(HandlerInvocation).where(HandlerInvocation.instance_id == instance_id)).one()
        session.expunge(row)
        return row


def _events(wiring: Wiring, instance_id: str) -> list[str]:
    with wiring.service.uow.read() as session:
        return list(session.scalars(select(Event.type).where(Event.instance_id == instance_id).order_by(Event.seq)))


def _replays(wiring: Wiring, instance_id: str) -> None:
    with wiring.service.uow.read() as session:
        result = replay_instance(session, instance_id, runtime=wiring.service.runtime, specs=wiring.service.specs)
    assert result.divergence is None, result.divergence


def test_retry_policy_backs_off_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=5, base_s=2, factor=3, cap_s=40)
    assert [policy.delay_s(n) for n in (1, 2, 3, 4)] == [2, 6, 18, 40]
    jittered = RetryPolicy(base_s=10, jitter=True)
    assert jittered.delay_s(1, rng=lambda: 0.0) == 5 and jittered.delay_s(1, rng=lambda: 1.0) == 10
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        HandlerRegistry().register("x", lambda: None, mode="later")


def test_inline_handler_runs_in_the_step_and_is_recorded(wiring: Wiring, handlers: HandlerRegistry) -> None:
    handlers.register("stamp", lambda value: f"{value}-1")
    wiring.service.deploy(documents.service_call().encode())
    instance = wiring.service.start("service_call", {"folio_base": "INC"})
    assert instance.data["stamped"] == "INC-1" and _ready(wiring, instance.id) == ["Task_review"]
    row = _invocation(wiring, instance.id)
    assert (row.mode, row.status, row.attempts, row.input, row.output) == ("inline", "succeeded", 1,
                                                                         {"value": "INC"}, "INC-1")
    assert row.key.startswith(f"{instance.id}/") and row.duration_ms is not None and row.applied_at is not None


def test_async_handler_runs_in_the_worker_with_its_key(wiring: Wiring, handlers: HandlerRegistry) -> None:
    seen: list[tuple[str, int]] = []

    def stamp(value: str) -> str:
        context = current_invocation()
        assert context is not None
        seen.append((context.key, context.attempt))
        return f"{value}-7"

    handlers.register("stamp", stamp, mode="async")
    woken: list[datetime] = []
    assert wiring.invocations is not None
    wiring.invocations.listeners.append(woken.append)
    wiring.service.deploy(documents.service_call().encode())
    instance = wiring.service.start("service_call", {"folio_base": "INC"})
    assert instance.status == "running" and _ready(wiring, instance.id) == [] and seen == []
    assert woken == [instance.started_at]  # announced after the commit
    row = _invocation(wiring, instance.id)
    assert (row.status, row.attempts, row.input) == ("pending", 0, {"value": "INC"})
    _replays(wiring, instance.id)  # a task waiting for its handler replays too

    assert wiring.invocations.run_due() == 1
    assert seen == [(row.key, 1)]
    instance, tasks = wiring.service.get_instance(instance.id)
    assert instance.data["stamped"] == "INC-7" and [t.element_id for t in tasks] == ["Task_review"]
    row = _invocation(wiring, instance.id)
    assert (row.status, row.output, row.attempts) == ("succeeded", "INC-7", 1) and row.applied_at is not None
    assert wiring.invocations.run_due() == 0
    types = _events(wiring, instance.id)
    resumed = types.index("handler_succeeded")
    assert types.index("handler_invoked") < resumed and types[resumed + 1] == "element_completed"
    wiring.service.complete_task(tasks[0].id, {})
    _replays(wiring, instance.id)


def test_failures_back_off_then_raise_an_incident_that_retry_clears(
        wiring: Wiring, handlers: HandlerRegistry, clock: ManualClock) -> None:
    flaky = FlakyStamp()
    handlers.register("stamp", flaky, mode="async", retry=RETRY)
    wiring.service.deploy(documents.service_call().encode())
    instance = wiring.service.start("service_call", {"folio_base": "INC"})
    assert wiring.invocations is not None and wiring.incidents is not None
    wiring.invocations.run_due()
    row = _invocation(wiring, instance.id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, clock() + timedelta(seconds=10))
    assert wiring.invocations.run_due() == 0  # not due yet
    clock.advance(seconds=10)
    wiring.invocations.run_due()
    assert _invocation(wiring, instance.id).next_attempt_at == clock() + timedelta(seconds=15)  # capped
    clock.advance(seconds=15)
    wiring.invocations.run_due()
    assert len(flaky.calls) == 3
    instance, _ = wiring.service.get_instance(instance.id)
    assert instance.status == "incident" and instance.error["element_id"] == "Call_handler"
    incidents, total = wiring.incidents.list(status="open")
    assert total == 1
    incident = incidents[0]
    assert (incident.element_id, incident.handler, incident.attempts) == ("Call_handler", "stamp", 3)
    assert "folio service unreachable" in incident.error
    clock.advance(hours=1)
    assert wiring.invocations.run_due() == 0  # an incident waits for a person

    flaky.broken = False
    wiring.incidents.retry(incident.id, actor="ana", comment="servicio restablecido")
    assert wiring.service.get_instance(instance.id)[0].status == "running"
    with pytest.raises(Conflict):
        wiring.incidents.retry(incident.id)
    wiring.invocations.run_due()
    instance, tasks = wiring.service.get_instance(instance.id)
    assert instance.status == "running" and instance.error is None and instance.data["stamped"] == "INC-0004"
    assert wiring.incidents.get(incident.id).resolution == "retried"
    types = _events(wiring, instance.id)
    assert types.count("handler_failed") == 3 and "incident_raised" in types and "incident_resolved" in types
    wiring.service.complete_task(tasks[0].id, {})
    _replays(wiring, instance.id)


def test_resolving_an_incident_supplies_the_output(wiring: Wiring, handlers: HandlerRegistry) -> None:
    flaky = FlakyStamp()
    handlers.register("stamp", flaky, mode="async", retry={"max_attempts": 1})
    wiring.service.deploy(documents.service_call().encode())
    instance = wiring.service.start("service_call", {"folio_base": "INC"})
    assert wiring.invocations is not None and wiring.incidents is not None
    wiring.invocations.run_due()
    incident = wiring.incidents.list(instance_id=instance.id)[0][0]
    wiring.incidents.resolve(incident.id, output="INC-MANUAL", actor="ana", comment="folio tomado a mano")
    instance, tasks = wiring.service.get_instance(instance.id)
    assert instance.status == "running" and instance.data["stamped"] == "INC-MANUAL"
    assert [t.element_id for t in tasks] == ["Task_review"] and len(flaky.calls) == 1
    resolved = wiring.incidents.get(incident.id)
    assert (resolved.status, resolved.resolution, resolved.resolved_by) == ("resolved", "output", "ana")
    _replays(wiring, instance.id)


def test_business_error_is_routed_and_not_retried(wiring: Wiring, handlers: HandlerRegistry) -> None:
    calls: list[str] = []

    def check(value: str) -> dict:
        calls.append(value)
        raise BusinessError("El certificado venció", code="certificado_invalido")

    handlers.register("check", check, mode="async", retry=RETRY)
    wiring.service.deploy(documents.business_error().encode())
    instance = wiring.service.start("checked", {"certificado": "vencido"})
    assert wiring.invocations is not None
    wiring.invocations.run_due()
    assert calls == ["vencido"] and _ready(wiring, instance.id) == ["Task_fix"]
    assert _invocation(wiring, instance.id).status == "business_error"
    _replays(wiring, instance.id)


def test_cancelled_instance_drops_its_pending_invocation(wiring: Wiring, handlers: HandlerRegistry) -> None:
    calls: list[str] = []
    handlers.register("stamp", calls.append, mode="async")
    wiring.service.deploy(documents.service_call().encode())
    instance = wiring.service.start("service_call", {"folio_base": "INC"})
    wiring.service.cancel(instance.id)
    assert wiring.invocations is not None
    wiring.invocations.run_due()
    assert calls == [] and _invocation(wiring, instance.id).status == "cancelled"


def _parallel_with_service() -> str:
    """split -> (async service task | user task) -> join -> end."""
    from tests.engine.loop_shapes import _doc, _flow, _process

    return _doc(_process(
        "paired",
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        '<bpmn:serviceTask id="Call_handler"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="stamp" resultVariable="stamped">'
        '<spiffworkflow:parameters><spiffworkflow:parameter id="value" type="str" value="\'A\'"/>'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>"
        '<bpmn:userTask id="Task_b"/><bpmn:parallelGateway id="join"/><bpmn:endEvent id="end"/>'
        + _flow("start", "split") + _flow("split", "Call_handler") + _flow("split", "Task_b")
        + _flow("Call_handler", "join") + _flow("Task_b", "join") + _flow("join", "end"),
    ))


def test_user_task_completed_while_the_handler_waits(wiring: Wiring, handlers: HandlerRegistry) -> None:
    handlers.register("stamp", lambda value: f"{value}-1", mode="async")
    wiring.service.deploy(_parallel_with_service().encode())
    instance = wiring.service.start("paired")
    assert _ready(wiring, instance.id) == ["Task_b"]
    task = wiring.service.get_instance(instance.id)[1][0]
    assert wiring.service.complete_task(task.id, {}).status == "running"  # the join waits for the handler
    assert wiring.invocations is not None and wiring.invocations.run_due() == 1
    instance, _ = wiring.service.get_instance(instance.id)
    assert instance.status == "completed" and instance.data["stamped"] == "A-1"
    _replays(wiring, instance.id)


def test_a_boundary_timer_cancels_the_waiting_handler(wiring: Wiring, handlers: HandlerRegistry,
                                                      clock: ManualClock) -> None:
    calls: list[str] = []
    handlers.register("stamp", calls.append, mode="async")
    xml = documents.service_call().replace(
        '<bpmn:userTask id="Task_review"/>',
        '<bpmn:userTask id="Task_review"/><bpmn:boundaryEvent id="Timer_1h" attachedToRef="Call_handler">'
        '<bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>'
        '</bpmn:boundaryEvent><bpmn:userTask id="Task_late"/><bpmn:endEvent id="end_late"/>'
        '<bpmn:sequenceFlow id="f_late" sourceRef="Timer_1h" targetRef="Task_late"/>'
        '<bpmn:sequenceFlow id="f_late_end" sourceRef="Task_late" targetRef="end_late"/>')
    wiring.service.deploy(xml.encode())
    instance = wiring.service.start("service_call", {"folio_base": "INC"})
    clock.advance(hours=1, seconds=1)
    assert wiring.service.fire_due_timers() == 1
    assert _ready(wiring, instance.id) == ["Task_late"]
    assert _invocation(wiring, instance.id).status == "cancelled"
    assert wiring.invocations is not None and wiring.invocations.run_due() == 0 and calls == []
    _replays(wiring, instance.id)


def test_two_workers_never_run_one_invocation_twice(wiring: Wiring, handlers: HandlerRegistry) -> None:
    from tests.engine.test_concurrency import _race

    calls: list[str] = []
    handlers.register("stamp", lambda value: calls.append(value) or value, mode="async")
    wiring.service.deploy(documents.service_call().encode())
    ids = [wiring.service.start("service_call", {"folio_base": f"INC{n}"}).id for n in range(6)]
    assert wiring.invocations is not None
    worker = wiring.invocations
    results = _race(3, lambda _: worker.run_due())
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(calls) == sorted(f"INC{n}" for n in range(6))  # each handler once, whoever ran it
    assert all(_ready(wiring, i) == ["Task_review"] for i in ids)


def test_resolve_checks_the_output_against_the_handler_schema(wiring: Wiring, handlers: HandlerRegistry) -> None:
    from marshmallow import Schema, fields

    from engine.errors import InvalidInput

    class Output(Schema):
        folio = fields.String(required=True)

    def stamp(value: str) -> dict:
        raise RuntimeError("down")

    handlers.register("stamp", stamp, output_schema=Output(), mode="async")
    wiring.service.deploy(documents.service_call().encode())
    instance = wiring.service.start("service_call", {"folio_base": "INC"})
    assert wiring.invocations is not None and wiring.incidents is not None
    wiring.invocations.run_due()
    incident = wiring.incidents.list(instance_id=instance.id)[0][0]
    with pytest.raises(InvalidInput) as refused:
        wiring.incidents.resolve(incident.id, output={"numero": 1}, comment="a mano")
    assert "folio" in refused.value.details["fields"]
    assert wiring.incidents.get(incident.id).status == "open"  # nothing changed
    wiring.incidents.resolve(incident.id, output={"folio": "INC-1"}, comment="a mano")
    assert wiring.service.get_instance(instance.id)[0].data["stamped"] == {"folio": "INC-1"}


def test_inline_failure_is_an_instance_error_and_its_retry_a_second_attempt(
        wiring: Wiring, handlers: HandlerRegistry) -> None:
    flaky = FlakyStamp()
    handlers.register("stamp", flaky)
    wiring.service.deploy(documents.service_call().encode())
    instance = wiring.service.start("service_call", {"folio_base": "INC"})
    assert instance.status == "error" and instance.error["element_id"] == "Call_handler"
    failed = _invocation(wiring, instance.id)
    assert (failed.status, failed.attempts) == ("failed", 1) and "folio service unreachable" in failed.error
    flaky.broken = False
    assert wiring.service.retry(instance.id).status == "running"
    row = _invocation(wiring, instance.id)
    assert (row.key, row.status, row.attempts, row.output) == (failed.key, "succeeded", 2, "INC-0002")


def test_builtin_policies() -> None:
    from handlers.registry import register_builtin

    registry = HandlerRegistry()
    register_builtin(registry)
    for name in ("probe", "check_certificate", "validate_curp_layout", "reconcile_curp"):
        policy = registry.policy(name)
        assert (policy.mode, policy.retry.max_attempts, policy.retry.delay_s(2)) == ("async", 4, 20.0), name
    for name in ("priority", "set_status", "folio", "notify", "assign_by_workload"):
        assert registry.policy(name).mode == "inline", name


def test_worker_lease_comes_from_the_configuration(monkeypatch: pytest.MonkeyPatch, settings: Settings,
                                                   handlers: HandlerRegistry) -> None:
    """A site whose slowest handler takes longer than the default lease must be able to lengthen it,
    or a second worker takes the call over and runs it twice."""
    monkeypatch.setenv("CAUCE_HANDLER_LEASE_S", "900")
    assert Settings.from_env().handler_lease_s == 900.0
    built = build(replace(settings, handler_lease_s=900.0), handlers=handlers)
    try:
        assert built.invocations is not None
        assert built.invocations.lease == timedelta(minutes=15)
    finally:
        built.db.dispose()


def test_a_permanent_error_raises_the_incident_without_spending_retries(
        wiring: Wiring, handlers: HandlerRegistry, clock: ManualClock) -> None:
    """An answer no attempt can read fails at once: waiting 10 + 20 + 40 s to learn the same thing
    would only delay the person who must fix the data."""
    calls: list[str] = []

    def unreadable(value: str) -> str:
        calls.append(value)
        raise PermanentError("La respuesta de RENAPO no se pudo leer: no tiene columna CURP")

    handlers.register("stamp", unreadable, mode="async", retry={"max_attempts": 4, "base_s": 10.0})
    wiring.service.deploy(documents.service_call().encode())
    instance = wiring.service.start("service_call", {"folio_base": "INC"})
    assert wiring.invocations is not None and wiring.incidents is not None
    wiring.invocations.run_due()
    assert calls == ["INC"]
    assert wiring.service.get_instance(instance.id)[0].status == "incident"
    incidents, total = wiring.incidents.list(status="open")
    assert total == 1 and incidents[0].attempts == 1 and "no se pudo leer" in incidents[0].error
    clock.advance(minutes=5)
    assert wiring.invocations.run_due() == 0 and calls == ["INC"]
