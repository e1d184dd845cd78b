"""Route a handler's business error to the diagram's error boundary event.

SpiffWorkflow 3.2 has no path from a failing service task to a BPMN error: an exception only
puts the task in ERROR. A handler signals an expected, routable outcome (an expired certificate)
by raising an exception with a ``bpmn_error_code`` attribute; the service task then throws the
BPMN error with that code to its workflow, the way an error end event in a sub-process does. If a
boundary event catches it, the task is left STARTED and the boundary's ``BoundaryEventJoin``
cancels it, so only the error branch continues. The payload ``{code, message, details}`` lands
in the variable the ``bpmn:error`` names with ``spiffworkflow:variableName``. If nothing catches
it, the task fails as any
other handler error would, and the instance shows it.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition
from SpiffWorkflow.spiff.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.task import Task

_MARK = "_cauce_routes_business_errors"
# Attribute of the top workflow holding, during one engine step, the business errors routed in it.
BUSINESS_ERRORS = "_cauce_business_errors"


def business_error(exc: BaseException) -> BaseException | None:
    """The exception carrying a ``bpmn_error_code``: ``exc`` or one it wraps."""
    seen: set[int] = set()
    candidate: BaseException | None = exc
    while candidate is not None and id(candidate) not in seen:
        seen.add(id(candidate))
        code = getattr(candidate, "bpmn_error_code", None)
        if isinstance(code, str) and code:
            return candidate
        candidate = getattr(candidate, "exception", None) or candidate.__cause__
    return None


def route_business_errors(spec: WorkflowSpec) -> None:
    """Wrap the service tasks of ``spec`` once so that business errors become BPMN errors."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, ServiceTask) and not getattr(task_spec, _MARK, False):
            task_spec._execute = types.MethodType(_routing(task_spec._execute), task_spec)
            setattr(task_spec, _MARK, True)


def _routing(original: Callable[[Task], Any]) -> Callable[[Any, Task], Any]:
    def _execute(self: Any, task: Task) -> Any:
        try:
            return original(task)
        except Exception as exc:
            cause = business_error(exc)
            if cause is None:
                raise
            code: str = cause.bpmn_error_code  # type: ignore[attr-defined]
            payload = {"code": code, "message": str(cause), "details": copy.deepcopy(getattr(cause, "details", None))}
            event = BpmnEvent(ErrorEventDefinition(code, code=code), payload=payload, target=task.workflow)
            if not task.workflow.top_workflow.event_manager.catch(event):
                raise
            # The history records it (the handler's outcome), so that replay can raise it again.
            sink = getattr(task.workflow.top_workflow, BUSINESS_ERRORS, None)
            if sink is not None:
                sink.append((task.task_spec.bpmn_id, copy.deepcopy(payload)))
            return None

    return _execute
