"""History events that say *why* an element completed and *where* the path went from it.

``element_completed`` says that an element completed; an auditor also asks what happened and
which way the procedure went, so the service records, right after it and in the same transaction:

* ``timer_fired`` / ``message_received`` when the element is a catch event a timer or a message
  completed (a message *thrown* is work the instance did, not something that happened to it);
* ``gateway_flow_taken``, once per outgoing sequence flow an exclusive or inclusive gateway with a
  choice (more than one outgoing flow) sent the instance along.

The flows are read when the gateway completes, not guessed afterwards: SpiffWorkflow has by then
replaced the gateway's children with the outputs it chose (``_sync_children`` in its ``_run_hook``),
and the finished part of the tree is pruned after the step. :func:`instrument` connects a listener
to those gateways (once per parsed spec) that notes the choice on the running workflow, and
:func:`after_completion` turns it into events; SpiffWorkflow keeps no sequence-flow ids, so the
flow is found in the diagram by its source and target.
"""

from __future__ import annotations

from collections.abc import Iterable
from threading import Lock
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from sqlalchemy.orm import Session

from .conformance import read_diagram
from .models import Instance

if TYPE_CHECKING:  # the runtime instruments specs with this module; these are only annotations
    from .runtime import CompletedElement
    from .specs import SpecStore

TIMER_FIRED = "timer_fired"
_TIMER_KINDS = ((DurationTimerEventDefinition, "duration"), (TimeDateEventDefinition, "date"),
                (CycleTimerEventDefinition, "cycle"))
MESSAGE_RECEIVED = "message_received"
GATEWAY_FLOW_TAKEN = "gateway_flow_taken"
_CHOSEN = "_cauce_gateway_choices"  # on the top workflow: {gateway task id: [chosen element ids]}
_INSTRUMENTED = "_cauce_gateway_listener"
_LOCK = Lock()
_BOUNDARY_SPLIT = ".BoundaryEventSplit"  # SpiffWorkflow's wrapper in front of an activity with boundary events


def instrument(specs: Iterable[Any]) -> None:
    """Let the gateways with a choice of these specs note the outputs they choose (once per spec)."""
    for spec in specs:
        if getattr(spec, _INSTRUMENTED, False):
            continue
        with _LOCK:
            for task_spec in spec.task_specs.values():
                if (isinstance(task_spec, ExclusiveGateway | InclusiveGateway) and len(task_spec.outputs) > 1
                        and not task_spec.completed_event.is_connected(_on_gateway_completed)):
                    task_spec.completed_event.connect(_on_gateway_completed)
            setattr(spec, _INSTRUMENTED, True)


def _on_gateway_completed(workflow: Any, task: Any) -> None:
    chosen = workflow.top_workflow.__dict__.setdefault(_CHOSEN, {})
    chosen[str(task.id)] = [c.task_spec.bpmn_id or c.task_spec.name.removesuffix(_BOUNDARY_SPLIT)
                            for c in task.children]


def take_gateway_choices(workflow: Any) -> dict[str, list[str]]:
    """The choices noted since the last call (the service calls it once per step)."""
    return workflow.__dict__.pop(_CHOSEN, {})


def after_completion(session: Session, specs: SpecStore, instance: Instance, workflow: Any,
                     element: CompletedElement, choices: dict[str, list[str]]) -> list[tuple[str, dict[str, Any]]]:
    """The events that follow ``element``'s ``element_completed``: (type, payload), in order."""
    found: list[tuple[str, dict[str, Any]]] = []
    caught = caught_event(workflow, element)
    if caught is not None:
        found.append(caught)
    targets = choices.get(element.task_id)
    if targets:
        holder = dict(instance.called_definitions or {}).get(element.process_key, instance.definition_id)
        parsed = specs.parsed_id(session, holder)
        diagram = read_diagram(parsed.xml, parsed.checksum)
        node = diagram.nodes.get(element.element_id)
        flows = {diagram.flows[f].target: f for f in (node.outgoing if node else ()) if f in diagram.flows}
        for target in targets:
            found.append((GATEWAY_FLOW_TAKEN, {"task_id": element.task_id, "process": element.process_key,
                                               "flow": flows.get(target), "target": target}))
    return found


def element_spec(workflow: Any, process_key: str, element_id: str) -> Any:
    """The task spec of ``element_id`` in the process ``process_key`` runs (top or sub-process)."""
    spec = workflow.spec if workflow.spec.name == process_key else workflow.subprocess_specs.get(process_key)
    return spec.task_specs.get(element_id) if spec is not None else None


def caught_event(workflow: Any, element: CompletedElement) -> tuple[str, dict[str, Any]] | None:
    """(event type, payload) when ``element`` is a catch event that a timer or a message completed."""
    spec = element_spec(workflow, element.process_key, element.element_id)
    if not isinstance(spec, CatchingEvent):
        return None
    definition = getattr(spec, "event_definition", None)
    payload: dict[str, Any] = {"task_id": element.task_id, "process": element.process_key}
    if isinstance(definition, TimerEventDefinition):
        payload["timer"] = next((kind for cls, kind in _TIMER_KINDS if isinstance(definition, cls)), "timer")
        return TIMER_FIRED, payload
    if isinstance(definition, MessageEventDefinition):
        payload["message"] = definition.name
        return MESSAGE_RECEIVED, payload
    return None
