"""Keep a workflow's live task tree small, whatever its history.

SpiffWorkflow keeps every task it ever created in one tree and walks it (to depth 1000) to find
work. A loop adds tasks below the previous turn's, so an instance that loops gets slower every
turn and, after ~333 turns, silently reports itself completed (see
``shared/notes/spiffworkflow-3.2.md``). cauce records every step in the instance's event history,
so the tree only needs what the engine itself still reads:

* the unfinished tasks (ready, waiting, started, predicted) and their descendants;
* the parent of every unfinished task (joins look at it, a task inherits its data from it);
* the direct children of unfinished tasks (a sequential multi-instance task reads its last
  instance, a boundary-event parent its events);
* every task where two live branches meet (their lowest common ancestors), so that "is this
  task a descendant of that one" keeps its answer for every pair of kept tasks;
* the finished tasks of a join that still waits, with their parents: how the join remembers
  which branches arrived (see :func:`_join_arrivals`);
* the root and its first child, which SpiffWorkflow treats specially, and the last completed
  task, whose data is the instance's current data.

Everything else is removed: finished branches entirely, and chains of finished ancestors are
spliced out (a kept task is re-parented to its nearest kept ancestor). Sub-workflows owned by a
removed task are dropped with it.
"""

from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

_LIVE = TaskState.NOT_FINISHED_MASK | TaskState.ERROR
# Joins that count arrivals by looking at finished tasks (the workflow's end join checks only
# unfinished work, so it needs no memory).
_GATEWAY_JOINS = (ParallelGateway, InclusiveGateway)


def prune_workflow(workflow: BpmnWorkflow) -> int:
    """Prune the top workflow and every running sub-workflow; return the number of tasks removed."""
    removed = 0
    for subprocess in list(workflow.subprocesses.values()):
        if subprocess.parent_task_id in _all_task_ids(workflow):
            removed += _prune_tree(subprocess, workflow)
    removed += _prune_tree(workflow, workflow)
    return removed


def _all_task_ids(workflow: BpmnWorkflow) -> set[UUID]:
    ids = set(workflow.tasks)
    for subprocess in workflow.subprocesses.values():
        ids.update(subprocess.tasks)
    return ids


def _prune_tree(wf, top: BpmnWorkflow) -> int:  # noqa: ANN001 - BpmnWorkflow or BpmnSubWorkflow
    tasks: dict[UUID, Task] = wf.tasks
    root = wf.task_tree
    if root is None:
        return 0
    live = [t for t in tasks.values() if t._state & _LIVE]
    if not live:
        return 0  # a finished (sub)workflow is left whole; its owner decides whether it goes

    # Tasks on a path from the root to a live task, and how many such paths fan out of each.
    on_path: set[UUID] = set()
    kept: set[UUID] = {root.id}
    if root._children:
        kept.add(root._children[0])
    if wf.last_task is not None:
        kept.add(wf.last_task.id)  # where the instance's current data is read from
    for task in live + _join_arrivals(tasks, live):
        kept.add(task.id)
        kept.update(task._children)
        if task._parent is not None:
            kept.add(task._parent)
        node: Task | None = task
        while node is not None and node.id not in on_path:
            on_path.add(node.id)
            node = tasks.get(node._parent) if node._parent is not None else None

    # Rebuild the tree in depth-first order: kept tasks hang under their nearest kept ancestor.
    removed: list[UUID] = []
    new_children: dict[UUID, list[UUID]] = {root.id: []}
    stack: list[tuple[UUID, UUID | None]] = [(c, root.id) for c in reversed(root._children)]
    while stack:
        task_id, anchor = stack.pop()
        task = tasks[task_id]
        if task_id not in on_path and task_id not in kept:
            removed.extend(_subtree_ids(tasks, task_id))
            continue
        is_branch_point = sum(1 for c in task._children if c in on_path) > 1
        if task_id in kept or is_branch_point:
            task._parent = anchor
            new_children[anchor].append(task_id)
            new_children[task_id] = []
            anchor = task_id
        else:
            removed.append(task_id)
        stack.extend((c, anchor) for c in reversed(task._children))

    if not removed:
        return 0
    for task_id, children in new_children.items():
        tasks[task_id]._children = children
    # Sub-workflows first, while every task is still reachable: deleting one asks each other
    # sub-workflow for its parent task, which must not have been popped yet.
    for task_id in removed:
        if task_id in top.subprocesses:
            top.delete_subprocess(tasks[task_id])
    for task_id in removed:
        top.event_manager.remove_task(tasks.pop(task_id))
    return len(removed)


def _join_arrivals(tasks: dict[UUID, Task], live: list[Task]) -> list[Task]:
    """Branches that already reached a join which still waits for others.

    When a branch arrives at a parallel or inclusive join that must keep waiting, SpiffWorkflow
    cancels the previous waiting join task and later counts an input as arrived by finding a
    finished task of the join's spec whose parent (the branch's last task) completed. Those
    finished tasks are the join's memory: they stay, with their parents, while a task of that
    spec is WAITING. Tasks of earlier rounds of a loop are not kept: once the join fires no task of
    its spec waits, so they are pruned before the next round begins, and the join's ancestors (the
    previous firings) are excluded, so the tree stays bounded.
    """
    waiting = [t for t in live if t._state & TaskState.WAITING and isinstance(t.task_spec, _GATEWAY_JOINS)]
    if not waiting:
        return []
    specs = {t.task_spec for t in waiting}
    ancestors: set[UUID] = set()
    for task in waiting:
        node = tasks.get(task._parent) if task._parent is not None else None
        while node is not None and node.id not in ancestors:
            ancestors.add(node.id)
            node = tasks.get(node._parent) if node._parent is not None else None
    return [
        t for t in tasks.values()
        if t.task_spec in specs and not t._state & _LIVE and t.id not in ancestors
    ]


def _subtree_ids(tasks: dict[UUID, Task], task_id: UUID) -> list[UUID]:
    ids, stack = [], [task_id]
    while stack:
        current = stack.pop()
        ids.append(current)
        stack.extend(tasks[current]._children)
    return ids
