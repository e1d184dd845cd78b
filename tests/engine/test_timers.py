"""Timers on named calendars (``calendar`` property): due times in días hábiles, on the injected clock.

2026-02-02 is a Monday holiday in Mexico (Constitution Day, first Monday of February), so a
"P5D" habil timer started on Friday 2026-01-30 at 10:00 (Mexico City, 16:00 UTC) counts Tue 3,
Wed 4, Thu 5, Fri 6 and Mon 9: it is due on Monday 2026-02-09 at 10:00 local, whereas the
wall clock would say Wednesday 2026-02-04.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.errors import InvalidDefinition
from engine.models import Event
from tests.engine.loop_shapes import _doc, _flow, _process

FRIDAY_BEFORE_HOLIDAY = datetime(2026, 1, 30, 16, 0, tzinfo=UTC)  # 10:00 in Mexico City
P5D_HABIL_DUE = datetime(2026, 2, 9, 16, 0, tzinfo=UTC)


def _props(calendar: str | None) -> str:
    if calendar is None:
        return ""
    return ('<bpmn:extensionElements><spiffworkflow:properties>'
            f'<spiffworkflow:property name="calendar" value="{calendar}"/>'
            "</spiffworkflow:properties></bpmn:extensionElements>")


def _timer(kind: str, expression: str) -> str:
    return f"<bpmn:timerEventDefinition><bpmn:{kind}>{expression}</bpmn:{kind}></bpmn:timerEventDefinition>"


def boundary(duration: str = '"P5D"', calendar: str | None = "habil", pid: str = "plazo") -> str:
    """Task_first with an interrupting boundary timer Timer_plazo -> Task_late."""
    return _doc(_process(
        pid,
        '<bpmn:startEvent id="start"/><bpmn:userTask id="Task_first"/>'
        f'<bpmn:boundaryEvent id="Timer_plazo" attachedToRef="Task_first">{_props(calendar)}'
        f'{_timer("timeDuration", duration)}</bpmn:boundaryEvent>'
        '<bpmn:userTask id="Task_late"/><bpmn:endEvent id="end_first"/><bpmn:endEvent id="end_late"/>'
        + _flow("start", "Task_first") + _flow("Task_first", "end_first")
        + _flow("Timer_plazo", "Task_late") + _flow("Task_late", "end_late"),
    ))


def _wait_then_task(prefix: str, duration: str, calendar: str | None) -> str:
    return (f'<bpmn:startEvent id="{prefix}start"/>'
            f'<bpmn:intermediateCatchEvent id="Timer_plazo">{_props(calendar)}'
            f'{_timer("timeDuration", duration)}</bpmn:intermediateCatchEvent>'
            f'<bpmn:userTask id="Task_late"/><bpmn:endEvent id="{prefix}end"/>'
            + _flow(f"{prefix}start", "Timer_plazo") + _flow("Timer_plazo", "Task_late")
            + _flow("Task_late", f"{prefix}end"))


def in_subprocess() -> str:
    """An embedded sub-process waiting on a habil P5D intermediate timer."""
    return _doc(_process(
        "plazo_sub",
        '<bpmn:startEvent id="s"/><bpmn:subProcess id="Sub">' + _wait_then_task("sub_", '"P5D"', "habil")
        + '</bpmn:subProcess><bpmn:endEvent id="e"/>' + _flow("s", "Sub") + _flow("Sub", "e"),
    ))


def callee() -> str:
    return _doc(_process("plazo_callee", _wait_then_task("", '"P5D"', "habil")))


def caller() -> str:
    return _doc(_process(
        "plazo_caller",
        '<bpmn:startEvent id="s"/><bpmn:callActivity id="Call" calledElement="plazo_callee"/>'
        '<bpmn:endEvent id="e"/>' + _flow("s", "Call") + _flow("Call", "e"),
    ))


def cycle(calendar: str) -> str:
    """A daily cycle (``R/P1D``) on ``calendar`` whose every turn runs a script counting turns."""
    return _doc(_process(
        "diario",
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        f'<bpmn:intermediateCatchEvent id="Timer_diario">{_props(calendar)}'
        f'{_timer("timeCycle", chr(34) + "R/P1D" + chr(34))}</bpmn:intermediateCatchEvent>'
        '<bpmn:endEvent id="end_turn"/><bpmn:userTask id="Task_stop"/><bpmn:endEvent id="end"/>'
        + _flow("start", "split") + _flow("split", "Timer_diario") + _flow("split", "Task_stop")
        + _flow("Timer_diario", "end_turn") + _flow("Task_stop", "end"),
    ))


def _ready(wiring: Wiring, instance_id: str) -> list[str]:
    return sorted(t.element_id for t in wiring.service.get_instance(instance_id)[1])


def _fired(wiring: Wiring, instance_id: str, element_id: str = "Timer_plazo") -> int:
    """How many times the timer element completed, from the instance's history."""
    with wiring.service.uow.read() as session:
        return session.scalar(select(func.count()).select_from(Event).where(
            Event.instance_id == instance_id, Event.type == "element_completed",
            Event.element_id == element_id)) or 0


def _assert_fires_exactly_at(wiring: Wiring, clock: ManualClock, instance_id: str, due: datetime) -> None:
    assert wiring.service.get_instance(instance_id)[0].next_timer_at == due
    clock.set(datetime(2026, 2, 4, 16, 1, tzinfo=UTC))  # past the wall-clock due time: nothing
    assert wiring.service.fire_due_timers() == 0
    clock.set(due - timedelta(minutes=1))
    assert wiring.service.fire_due_timers() == 0
    assert _fired(wiring, instance_id) == 0
    clock.set(due + timedelta(seconds=1))
    assert wiring.service.fire_due_timers() == 1
    assert _fired(wiring, instance_id) == 1
    assert _ready(wiring, instance_id) == ["Task_late"]


def test_p5d_habil_boundary_timer_from_friday_before_holiday_monday(wiring: Wiring, clock: ManualClock) -> None:
    wiring.service.deploy(boundary().encode())
    clock.set(FRIDAY_BEFORE_HOLIDAY)
    instance = wiring.service.start("plazo")
    _assert_fires_exactly_at(wiring, clock, instance.id, P5D_HABIL_DUE)


def test_habil_due_time_is_computed_once_and_survives_reloads(wiring: Wiring, clock: ManualClock) -> None:
    wiring.service.deploy(boundary().encode())
    clock.set(FRIDAY_BEFORE_HOLIDAY)
    instance = wiring.service.start("plazo")
    clock.set(datetime(2026, 2, 6, 16, 0, tzinfo=UTC))
    # Loading and advancing the instance later must not count five working days from "now" again.
    wiring.service.fire_due_timers()  # nothing is due: no-op
    with wiring.service.uow.write() as session:
        row = wiring.service._lock(session, instance.id)
        workflow = wiring.service._load(session, row)
        wiring.service.runtime.advance(workflow)
        assert wiring.service.runtime.next_timer_at(workflow) == P5D_HABIL_DUE


def test_natural_timer_is_unchanged(wiring: Wiring, clock: ManualClock) -> None:
    for pid, calendar in (("plazo_sin", None), ("plazo_natural", "natural")):
        wiring.service.deploy(boundary(calendar=calendar, pid=pid).encode())
        clock.set(FRIDAY_BEFORE_HOLIDAY)
        instance = wiring.service.start(pid)
        assert instance.next_timer_at == FRIDAY_BEFORE_HOLIDAY + timedelta(days=5)


def test_one_working_day_is_not_24_working_hours(wiring: Wiring, clock: ManualClock) -> None:
    wiring.service.deploy(boundary('"P1D"', pid="un_dia").encode())
    wiring.service.deploy(boundary('"PT8H"', pid="ocho_horas").encode())
    clock.set(FRIDAY_BEFORE_HOLIDAY)
    one_day = wiring.service.start("un_dia")
    eight_hours = wiring.service.start("ocho_horas")
    # Friday 10:00 + 1 día hábil = Tuesday 10:00 (Monday is a holiday); + 8 office hours: the same.
    assert one_day.next_timer_at == datetime(2026, 2, 3, 16, 0, tzinfo=UTC)
    assert eight_hours.next_timer_at == datetime(2026, 2, 3, 16, 0, tzinfo=UTC)


def test_habil_timer_in_an_embedded_subprocess(wiring: Wiring, clock: ManualClock) -> None:
    wiring.service.deploy(in_subprocess().encode())
    clock.set(FRIDAY_BEFORE_HOLIDAY)
    instance = wiring.service.start("plazo_sub")
    _assert_fires_exactly_at(wiring, clock, instance.id, P5D_HABIL_DUE)


def test_habil_timer_in_a_called_process(wiring: Wiring, clock: ManualClock) -> None:
    wiring.service.deploy(callee().encode())
    wiring.service.deploy(caller().encode())
    clock.set(FRIDAY_BEFORE_HOLIDAY)
    instance = wiring.service.start("plazo_caller")
    _assert_fires_exactly_at(wiring, clock, instance.id, P5D_HABIL_DUE)


def test_expression_timer_uses_process_data(wiring: Wiring, clock: ManualClock) -> None:
    wiring.service.deploy(boundary('"PT%dH" % horas', pid="por_datos").encode())
    clock.set(FRIDAY_BEFORE_HOLIDAY)
    instance = wiring.service.start("por_datos", {"horas": 4})
    # 10:00 + 4 office hours = 14:00 local the same Friday.
    assert instance.next_timer_at == datetime(2026, 1, 30, 20, 0, tzinfo=UTC)


def test_habil_daily_cycle_skips_the_weekend_and_the_holiday(wiring: Wiring, clock: ManualClock) -> None:
    wiring.service.deploy(cycle("habil").encode())
    clock.set(datetime(2026, 1, 29, 16, 0, tzinfo=UTC))  # Thursday 10:00
    instance = wiring.service.start("diario")
    seen = [instance.next_timer_at]
    for _ in range(3):
        clock.set(seen[-1] + timedelta(seconds=1))
        assert wiring.service.fire_due_timers() == 1
        seen.append(wiring.service.get_instance(instance.id)[0].next_timer_at)
    assert [d.date().isoformat() for d in seen] == ["2026-01-30", "2026-02-03", "2026-02-04", "2026-02-05"]
    assert _fired(wiring, instance.id, "end_turn") == 3


def test_unknown_calendar_is_refused_at_deploy(wiring: Wiring) -> None:
    """A typo in a calendar name is found when the process owner deploys, not months later as an
    instance in error on the timer."""
    with pytest.raises(InvalidDefinition) as info:
        wiring.service.deploy(boundary(calendar="lunar", pid="lunar").encode())
    assert info.value.details["element_id"] == "Timer_plazo"
    assert "lunar" in str(info.value)


def test_every_calendar_timer_in_the_diagrams_is_computable() -> None:
    """Each timer of bpmn/ that names a calendar names a configured one, with a duration it accepts.

    Checked here rather than when the timer starts, where a typo would only show months later as
    an instance in error.
    """
    from engine.calendars import load_calendars
    from engine.parsing import parse_definition

    registry = load_calendars()
    start = datetime(2026, 1, 30, 16, 0, tzinfo=UTC)
    checked = []
    for path in sorted((Path(__file__).resolve().parents[2] / "bpmn").rglob("*.bpmn")):
        parsed = parse_definition(path.read_bytes(), source_name=path.name)
        for spec in [parsed.spec, *parsed.local_specs.values()]:
            for task_spec in spec.task_specs.values():
                definition = getattr(task_spec, "event_definition", None)
                name = getattr(task_spec, "extensions", {}).get("properties", {}).get("calendar")
                if name is None or not hasattr(definition, "expression"):
                    continue
                calendar = registry.get(name)
                try:
                    literal = ast.literal_eval(definition.expression)
                except (ValueError, SyntaxError):
                    continue  # an expression over process data: checked when it runs
                period = literal.split("/")[-1] if literal.upper().startswith("R") else literal
                assert calendar.add(start, period) > start, (path.name, task_spec.bpmn_id)
                checked.append((path.name, task_spec.bpmn_id, name))
    assert ("FED-RENAPO-CERT.bpmn", "Timer_primer_contacto", "habil") in checked
    assert len(checked) >= 8
