"""Due times of BPMN timers on named calendars (``calendar`` property: ``natural`` | ``habil`` | …).

SpiffWorkflow only knows wall-clock arithmetic: it turns ``"P5D"`` into "now + 5 × 24 h" and
stores the result as UTC ISO text in the waiting task's ``internal_data['event_value']``. The
manual's deadlines are "5 días hábiles", so right after the engine has computed that value for a
newly waiting timer, :meth:`TimerCalendars.apply` recomputes it on the calendar the diagram names
(see ``bpmn/CONVENTIONS.md``, Timers, and ``bpmn/calendars.yaml``), starting from the moment the
timer started on the injected clock. SpiffWorkflow reads ``event_value`` back every time it
checks a timer, so the engine then fires the timer on the business due time and never before.

Each timer task is recomputed once: the task is marked in its ``internal_data`` (which is
serialized with the instance), so a later load does not move the deadline again. Timers without
the property, or on a natural calendar, keep SpiffWorkflow's own arithmetic unchanged.

Cycle timers (``"R/P1D"``) are recomputed at every turn: each time SpiffWorkflow moves the next
occurrence on, it is set to the previous occurrence plus the period on the calendar, so a daily
``habil`` cycle runs on working days only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task

from .calendars import Calendar, CalendarError, CalendarRegistry, NaturalCalendar, load_calendars

CALENDAR_PROPERTY = "calendar"
#: ``internal_data`` key marking a timer task whose due time was put on its calendar.
MARK = "cauce_calendar"

RegistrySource = CalendarRegistry | Callable[[], CalendarRegistry]


class TimerCalendars:
    """Puts waiting timers on the calendar their element names.

    The registry is loaded on first use (``bpmn/calendars.yaml`` by default) so that processes
    without business timers never read the file, and tests can pass their own registry.
    """

    def __init__(self, registry: RegistrySource | None = None) -> None:
        self._source: RegistrySource = registry if registry is not None else load_calendars
        self._registry: CalendarRegistry | None = registry if isinstance(registry, CalendarRegistry) else None

    @property
    def registry(self) -> CalendarRegistry:
        if self._registry is None:
            source = self._source
            self._registry = source if isinstance(source, CalendarRegistry) else source()
        return self._registry

    def apply(self, workflow: BpmnWorkflow, now: datetime) -> bool:
        """Recompute the due time of every newly waiting calendar timer of ``workflow``.

        Returns True when a recomputed due time is already reached (e.g. ``PT0S``), so the caller
        runs the engine once more to let it fire. Calendar errors (an unknown calendar name,
        months on a business calendar) become task errors naming the timer element.
        """
        due_now = False
        for task in list(workflow.top_workflow.event_manager.tasks.values()):
            definition = getattr(task.task_spec, "event_definition", None)
            if not isinstance(definition, (DurationTimerEventDefinition, CycleTimerEventDefinition)):
                continue
            name = _calendar_name(task)
            if not name:
                continue
            try:
                calendar = self.registry.get(name)
                if isinstance(calendar, NaturalCalendar):
                    continue
                if isinstance(definition, DurationTimerEventDefinition):
                    due = _duration_due(task, definition, calendar)
                else:
                    due = _cycle_due(task, definition, calendar)
            except (CalendarError, ValueError) as exc:
                raise WorkflowTaskException(
                    f"Timer {task.task_spec.bpmn_id!r} on calendar {name!r}: {exc}", task=task, exception=exc
                ) from exc
            if due is not None and due <= now:
                due_now = True
        return due_now


def _calendar_name(task: Task) -> str | None:
    properties: dict[str, Any] = getattr(task.task_spec, "extensions", {}).get("properties", {})
    value = properties.get(CALENDAR_PROPERTY)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _evaluate(task: Task, definition: TimerEventDefinition) -> str:
    value = task.workflow.script_engine.evaluate(task, definition.expression)
    if not isinstance(value, str):
        raise ValueError(f"the timer expression gave {value!r}, not an ISO 8601 text")
    return value


def _wall_clock_delta(duration: str) -> timedelta:
    """The fixed length SpiffWorkflow added for ``duration`` (no months or years: those depend on
    the start and are refused by business calendars anyway, with a clearer message)."""
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    if parsed.get("years") or parsed.get("months"):
        return timedelta(0)
    return TimerEventDefinition.get_timedelta_from_start(parsed, datetime(2000, 1, 1, tzinfo=UTC))


def _duration_due(task: Task, definition: DurationTimerEventDefinition, calendar: Calendar) -> datetime | None:
    if MARK in task.internal_data or task.internal_data.get("event_fired"):
        return None
    natural_due = task.internal_data.get("event_value")
    if not isinstance(natural_due, str):
        return None  # not computed yet: the engine has not started this timer
    duration = _evaluate(task, definition)
    # SpiffWorkflow computed ``now + delta`` with the injected clock: subtracting the same delta
    # gives back the exact moment the timer started, whenever this runs within the step.
    started = TimerEventDefinition.get_datetime(natural_due) - _wall_clock_delta(duration)
    due = calendar.add(started, duration).astimezone(UTC)
    task.internal_data["event_value"] = due.isoformat()
    task.internal_data[MARK] = {"calendar": calendar.name, "started": started.isoformat(),
                                "wall_clock_due": natural_due}
    return due


def _cycle_due(task: Task, definition: CycleTimerEventDefinition, calendar: Calendar) -> datetime | None:
    value = task.internal_data.get("event_value")
    if not isinstance(value, dict) or value.get("cycles") == 0 or not isinstance(value.get("next"), str):
        return None
    mark = task.internal_data.get(MARK)
    if isinstance(mark, dict) and mark.get("next") == value["next"]:
        return None  # this occurrence is already on the calendar
    expression = _evaluate(task, definition)
    parts = expression.upper().replace("--", "/").split("/")
    period = parts[-1] if len(parts) == 2 and parts[-1].startswith("P") else None
    if period is None:
        # "R/<start>/<period>" and "R/<period>/<end>": keep the explicit dates SpiffWorkflow
        # computed; only the pure-period form is measured on the calendar.
        task.internal_data[MARK] = {"calendar": calendar.name, "next": value["next"]}
        return None
    spiff_next = datetime.fromisoformat(value["next"])
    if isinstance(mark, dict) and isinstance(mark.get("next"), str):
        previous = datetime.fromisoformat(mark["next"])  # the occurrence that just fired
    else:
        previous = spiff_next - timedelta(seconds=float(value["duration"]))  # when the cycle started
    due = calendar.add(previous, period).astimezone(UTC)
    value["next"] = due.isoformat()
    task.internal_data["event_value"] = value
    task.internal_data[MARK] = {"calendar": calendar.name, "next": value["next"]}
    return due


__all__ = ["CALENDAR_PROPERTY", "MARK", "TimerCalendars"]
