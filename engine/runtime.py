"""Execute workflows: start, load, advance, prune, and report what happened.

This layer knows SpiffWorkflow and nothing about HTTP or the database. Every command is one call
to :meth:`WorkflowRuntime.advance`, which runs the engine until it waits for people or time,
prunes the finished part of the tree (see :mod:`engine.pruning`), and returns the elements that
completed so that the caller can write them to the history in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec
from SpiffWorkflow.spiff.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from . import spiff_speedups, step_events
from .business_errors import BUSINESS_ERRORS, route_business_errors
from .clock import Clock, system_clock, using_clock
from .invocations import defer_async_tasks
from .pruning import prune_workflow
from .scripting import CauceScriptEngine, ServiceCaller
from .state import StateCodec
from .timers import RegistrySource, TimerCalendars

spiff_speedups.install()

_RECORDER = "_cauce_recorder"
# A calendar timer due at once (PT0S) needs another engine pass; more passes than this is a loop.
_CALENDAR_PASSES = 20
#: The handler whose result is the instance's business status (bpmn/CONVENTIONS.md).
SET_STATUS_HANDLER = "set_status"


@dataclass
class CompletedElement:
    task_id: str
    element_id: str
    element_type: str
    name: str | None
    process_key: str
    # A service task's handler result, recorded so that replay can feed it back instead of
    # calling the handler again (handlers have side effects).
    has_result: bool = False
    result: Any = None
    # The handler a service task named (None for other elements), so that the service can act on
    # results the engine itself stores, such as ``set_status``'s label.
    handler: str | None = None


@dataclass
class ReadyTask:
    task_id: str
    element_id: str
    name: str | None
    lane: str | None
    process_key: str
    properties: dict[str, str]
    # The user named by the task's ``assigneeVariable`` in the process data, if any.
    assignee: str | None = None
    # When the task's earliest boundary timer fires (its SLA as the diagram states it), if any.
    due_at: datetime | None = None


@dataclass
class StepResult:
    completed: list[CompletedElement] = field(default_factory=list)
    error: dict[str, Any] | None = None
    # (service task element id, {code, message, details}) of handler business errors routed to a boundary.
    business_errors: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def status_label(self) -> str | None:
        """The label of the last ``set_status`` step of this step, if any: the instance's new
        business status. The handler only validates the label; storing it on the instance is the
        engine's job, so that it lands in the same transaction as the step that set it."""
        label = None
        for element in self.completed:
            if element.handler == SET_STATUS_HANDLER and isinstance(element.result, dict):
                value = element.result.get("label")
                if isinstance(value, str) and value:
                    label = value
        return label


class WorkflowRuntime:
    """Runs SpiffWorkflow with cauce's script engine, pruning and completion recording."""

    def __init__(self, *, script_timeout_s: float = 2.0, call_service: ServiceCaller | None = None,
                 calendars: RegistrySource | None = None) -> None:
        self.codec = StateCodec()
        # What service tasks call (engine.invocations.HandlerCaller in the app); SLA actions run
        # the same handlers through it.
        self.call_service = call_service
        self.script_engine = CauceScriptEngine(timeout_s=script_timeout_s, call_service=call_service)
        self.clock: Clock = system_clock
        self.timer_calendars = TimerCalendars(calendars)

    def instrument(self, specs: list[WorkflowSpec]) -> None:
        """Record every completed element of these specs, and the flow each gateway takes (done
        once per parsed spec)."""
        step_events.instrument(specs)
        for spec in specs:
            route_business_errors(spec)
            defer_async_tasks(spec)  # an async handler leaves its task STARTED (engine/invocations.py)
            for task_spec in spec.task_specs.values():
                if not task_spec.completed_event.is_connected(_on_completed):
                    task_spec.completed_event.connect(_on_completed)

    def create(self, spec: WorkflowSpec, subprocess_specs: dict[str, WorkflowSpec],
               data: dict[str, Any]) -> BpmnWorkflow:
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        # Initial data goes on the start task, from which every task inherits it.
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        return workflow

    def load(self, state: dict[str, Any], spec: WorkflowSpec,
             subprocess_specs: dict[str, WorkflowSpec]) -> BpmnWorkflow:
        workflow = self.codec.load(state, spec, subprocess_specs)
        workflow.script_engine = self.script_engine  # not serialized; see the notes
        return workflow

    def dump(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        return self.codec.dump(workflow)

    def advance(self, workflow: BpmnWorkflow, action: Callable[[], Any] | None = None) -> StepResult:
        """Run ``action`` (e.g. complete a task), then the engine until it waits; then prune."""
        result = StepResult()
        setattr(workflow, _RECORDER, result.completed)
        setattr(workflow, BUSINESS_ERRORS, result.business_errors)
        try:
            with using_clock(self.clock):
                if action is not None:
                    action()
                workflow.refresh_timers()
                workflow.do_engine_steps()
                # Timers that just started waiting get their due time from their calendar.
                for _ in range(_CALENDAR_PASSES):
                    if not self.timer_calendars.apply(workflow, self.clock()):
                        break
                    workflow.refresh_timers()
                    workflow.do_engine_steps()
        except SpiffWorkflowException as exc:
            result.error = _error_info(exc, self.clock())
        except Exception as exc:  # a handler's own exception type
            result.error = {"element_id": None, "message": f"{exc.__class__.__name__}: {exc}",
                            "at": self.clock().isoformat()}
        finally:
            delattr(workflow, _RECORDER)
            delattr(workflow, BUSINESS_ERRORS)
        prune_workflow(workflow)
        return result

    def retry_errors(self, workflow: BpmnWorkflow) -> StepResult:
        """Put tasks that failed back to READY and run the engine again."""

        def reset() -> None:
            for task in _all_tasks(workflow, TaskState.ERROR):
                task._set_state(TaskState.READY)

        return self.advance(workflow, reset)

    def ready_human_tasks(self, workflow: BpmnWorkflow) -> list[ReadyTask]:
        ready = []
        for task in _all_tasks(workflow, TaskState.READY):
            spec = task.task_spec
            if not spec.manual:
                continue
            properties = dict(spec.extensions.get("properties", {}))
            variable = properties.get("assigneeVariable", "").strip()
            named = task.data.get(variable) if variable else None
            ready.append(
                ReadyTask(
                    task_id=str(task.id),
                    element_id=spec.bpmn_id,
                    name=spec.bpmn_name,
                    lane=spec.lane,
                    process_key=task.workflow.spec.name,
                    properties=properties,
                    assignee=named.strip() if isinstance(named, str) and named.strip() else None,
                    due_at=_boundary_due(task),
                )
            )
        return ready

    def find_task(self, workflow: BpmnWorkflow, task_id: str) -> Task | None:
        try:
            return workflow.get_task_from_id(UUID(task_id))
        except (ValueError, TaskNotFoundException):
            return None

    def status(self, workflow: BpmnWorkflow) -> str:
        if workflow.is_completed():
            return "completed"
        if _all_tasks(workflow, TaskState.ERROR):
            return "error"
        return "running"

    def current_data(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        """The data a user would call "the instance's data" now."""
        if workflow.is_completed() and workflow.last_task is not None:
            data = dict(workflow.last_task.data)
        else:
            data = {}
            active = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
            for task in workflow.get_tasks(state=active):
                data.update(task.data)
        if not data.get("data_objects"):
            data.pop("data_objects", None)
        return self.codec.convert_data(data)

    def next_timer_at(self, workflow: BpmnWorkflow) -> datetime | None:
        due = [d for d in map(_due_time, workflow.top_workflow.event_manager.tasks.values()) if d is not None]
        return min(due) if due else None


def _boundary_due(task: Task) -> datetime | None:
    """The earliest due time of the timers attached to a user task: its siblings under the
    boundary-event split, whose ``event_value`` holds the (calendar-adjusted) due time."""
    parent = task.parent
    if parent is None or type(parent.task_spec).__name__ != "BoundaryEventSplit":
        return None
    due = [d for d in (_due_time(s) for s in parent.children if s is not task) if d is not None]
    return min(due) if due else None


def _due_time(task: Task) -> datetime | None:
    """When a waiting timer task fires: SpiffWorkflow keeps it as ISO text in ``event_value``,
    or, for a cycle with occurrences left, as ``{"cycles", "next", "duration"}``."""
    value = task.internal_data.get("event_value")
    if isinstance(value, dict) and value.get("cycles") != 0:
        value = value.get("next")
    if isinstance(value, str) and value[:1].isdigit():
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _all_tasks(workflow: BpmnWorkflow, state: int) -> list[Task]:
    """Tasks in ``state`` in the workflow and its sub-workflows, each once.

    ``get_tasks`` already descends into running sub-workflows; the explicit pass over
    ``subprocesses`` catches any it does not reach, and the id check drops the overlap.
    """
    found: dict[UUID, Task] = {t.id: t for t in workflow.get_tasks(state=state)}
    for sub in workflow.subprocesses.values():
        for task in sub.get_tasks(state=state):
            found.setdefault(task.id, task)
    return list(found.values())


def _on_completed(workflow: Any, task: Task) -> None:
    sink = getattr(workflow.top_workflow, _RECORDER, None)
    spec = task.task_spec
    if sink is None or getattr(spec, "bpmn_id", None) is None:
        return
    sink.append(
        CompletedElement(
            task_id=str(task.id),
            element_id=spec.bpmn_id,
            element_type=type(spec).__name__,
            name=spec.bpmn_name,
            process_key=workflow.spec.name,
            has_result=isinstance(spec, ServiceTask),
            result=task.data.get(spec.result_variable) if isinstance(spec, ServiceTask) else None,
            handler=spec.operation_name if isinstance(spec, ServiceTask) else None,
        )
    )


def _error_info(exc: SpiffWorkflowException, now: datetime) -> dict[str, Any]:
    task = getattr(exc, "task", None)
    element_id = getattr(getattr(task, "task_spec", None), "bpmn_id", None) if task else None
    message = str(exc)
    cause = getattr(exc, "exception", None)
    if cause is not None and str(cause) not in message:
        message = f"{message}: {cause}"
    return {"element_id": element_id, "message": message, "at": now.isoformat()}
