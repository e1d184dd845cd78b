"""Serialize a workflow's live state without its specs.

SpiffWorkflow's serializer embeds the full spec in every document (half of a typical blob). The
spec is fixed per definition version, so cauce stores only the task tree and data, and rebuilds
the workflow around specs it parsed once and keeps in memory.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import WorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

STATE_FORMAT = 1


class StateCodec:
    """Turns a :class:`BpmnWorkflow` into a JSON-ready dict and back, given its specs."""

    def __init__(self) -> None:
        registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
        self._serializer = BpmnWorkflowSerializer(registry)
        # The registry keeps each converter as a partial over its bound from_dict.
        self._converter = registry.convert_from_dict["BpmnWorkflow"].args[0].__self__

    def dump(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        conv = self._converter
        dct = WorkflowConverter.to_dict(conv, workflow)
        dct["subprocesses"] = conv.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = conv.registry.convert(workflow.bpmn_events)
        dct["format"] = STATE_FORMAT
        return dct

    def load(
        self, dct: dict[str, Any], spec: WorkflowSpec, subprocess_specs: dict[str, WorkflowSpec]
    ) -> BpmnWorkflow:
        conv = self._converter
        dct = _parents_first(dct)
        workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
        workflow.tasks = conv.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        conv.set_default_attributes(workflow, dct)
        conv.subprocesses_from_dict(dict(dct["subprocesses"]), workflow)
        workflow.bpmn_events = conv.registry.restore(dct.get("bpmn_events", []))
        return workflow

    def convert_data(self, data: dict[str, Any]) -> Any:
        """Task data in the JSON form the serializer gives it (dates, decimals, …)."""
        return self._converter.registry.convert(data)


def _parents_first(dct: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``dct`` whose task mappings list every parent before its children.

    SpiffWorkflow stores a task's data as a delta against its parent and rebuilds it while it
    reads the tasks in mapping order, so a store that reorders keys (PostgreSQL's JSONB, a
    ``sort_keys`` dump) would silently lose data. We do not rely on the store keeping order.
    """
    out = dict(dct)  # the converter pops keys
    out["tasks"] = _ordered(dct["tasks"], dct["root"])
    out["subprocesses"] = {
        sid: {**sub, "tasks": _ordered(sub["tasks"], sub["root"])} for sid, sub in dct.get("subprocesses", {}).items()
    }
    return out


def _ordered(tasks: dict[str, Any], root: str | None) -> dict[str, Any]:
    ordered: dict[str, Any] = {}
    queue = [root] if root in tasks else []
    while queue:
        task_id = queue.pop()
        ordered[task_id] = tasks[task_id]
        queue.extend(reversed([c for c in tasks[task_id]["children"] if c in tasks and c not in ordered]))
    for task_id, task in tasks.items():  # anything unreachable keeps its place after the tree
        ordered.setdefault(task_id, task)
    return ordered
