"""BPMN documents for every loop shape the engine must run forever (issue: long-lived instances).

Each shape loops through a user task ``Task_work`` (or two, for the two-branch shape) and counts
turns in ``turns`` (``left``/``right`` for two branches); the loop ends when the counter reaches
``limit``. They are built from a few lines each so that the shape, not the XML, is what a reader
sees.
"""

from __future__ import annotations

from typing import Any

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'id="defs" targetNamespace="http://cauce.dev/tests">\n'
)


def _flow(source: str, target: str, condition: str | None = None) -> str:
    cond = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
    return (f'<bpmn:sequenceFlow id="f_{source}_{target}" sourceRef="{source}" targetRef="{target}">'
            f"{cond}</bpmn:sequenceFlow>")


def _process(pid: str, body: str) -> str:
    return f'<bpmn:process id="{pid}" isExecutable="true">{body}</bpmn:process>'


def _doc(*processes: str) -> str:
    return _HEAD + "".join(processes) + "</bpmn:definitions>"


def _script(sid: str, code: str) -> str:
    return f'<bpmn:scriptTask id="{sid}"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


def _loop_body(prefix: str, counter: str, inner: str, inner_first: str, inner_last: str) -> str:
    """start -> init -> merge -> [inner] -> count -> more? -(yes)-> merge | -(no)-> end.

    The loop returns to an exclusive merge, as a modeller draws it: a parallel or inclusive
    gateway with two incoming flows would be a join and wait for both.
    """
    return (
        f'<bpmn:startEvent id="{prefix}start"/>'
        + _script(f"{prefix}init", f"{counter} = 0")
        + f'<bpmn:exclusiveGateway id="{prefix}merge"/>'
        + inner
        + _script(f"{prefix}count", f"{counter} = {counter} + 1")
        + f'<bpmn:exclusiveGateway id="{prefix}more" default="f_{prefix}more_{prefix}merge"/>'
        + f'<bpmn:endEvent id="{prefix}end"/>'
        + _flow(f"{prefix}start", f"{prefix}init")
        + _flow(f"{prefix}init", f"{prefix}merge")
        + _flow(f"{prefix}merge", inner_first)
        + _flow(inner_last, f"{prefix}count")
        + _flow(f"{prefix}count", f"{prefix}more")
        + _flow(f"{prefix}more", f"{prefix}end", f"{counter} &gt;= limit")
        + _flow(f"{prefix}more", f"{prefix}merge")
    )


_WORK = '<bpmn:userTask id="Task_work"/>'

PLAIN = _doc(_process("plain", _loop_body("", "turns", _WORK, "Task_work", "Task_work")))

SUBPROCESS = _doc(
    _process(
        "in_subprocess",
        '<bpmn:startEvent id="s"/><bpmn:subProcess id="Sub">'
        + _loop_body("sub_", "turns", _WORK, "Task_work", "Task_work")
        + '</bpmn:subProcess><bpmn:endEvent id="e"/>'
        + _flow("s", "Sub")
        + _flow("Sub", "e"),
    )
)

CALLED = _doc(
    _process(
        "caller",
        '<bpmn:startEvent id="s"/><bpmn:callActivity id="Call" calledElement="plain"/>'
        '<bpmn:endEvent id="e"/>' + _flow("s", "Call") + _flow("Call", "e"),
    )
)

PARALLEL = _doc(
    _process(
        "parallel",
        _loop_body(
            "",
            "turns",
            '<bpmn:parallelGateway id="split"/><bpmn:userTask id="Task_work"/>'
            '<bpmn:userTask id="Task_other"/><bpmn:parallelGateway id="join"/>'
            + _flow("split", "Task_work")
            + _flow("split", "Task_other")
            + _flow("Task_work", "join")
            + _flow("Task_other", "join"),
            "split",
            "join",
        ),
    )
)

PARALLEL_THREE = _doc(
    _process(
        "parallel_three",
        _loop_body(
            "",
            "turns",
            '<bpmn:parallelGateway id="split"/><bpmn:userTask id="Task_work"/>'
            '<bpmn:userTask id="Task_other"/><bpmn:userTask id="Task_third"/><bpmn:parallelGateway id="join"/>'
            + _flow("split", "Task_work")
            + _flow("split", "Task_other")
            + _flow("split", "Task_third")
            + _flow("Task_work", "join")
            + _flow("Task_other", "join")
            + _flow("Task_third", "join"),
            "split",
            "join",
        ),
    )
)

BOUNDARY_TIMER = _doc(
    _process(
        "boundary_timer",
        _loop_body("", "turns", _WORK, "Task_work", "Task_work")
        + '<bpmn:boundaryEvent id="reminder" attachedToRef="Task_work" cancelActivity="false">'
        '<bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration>'
        "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        + _script("remind", "reminders = reminders + 1")
        + '<bpmn:endEvent id="reminded"/>'
        + _flow("reminder", "remind")
        + _flow("remind", "reminded"),
    )
)

MULTI_INSTANCE = _doc(
    _process(
        "multi_instance",
        _loop_body(
            "",
            "turns",
            '<bpmn:userTask id="Task_work"><bpmn:multiInstanceLoopCharacteristics>'
            "<bpmn:loopCardinality>2</bpmn:loopCardinality>"
            "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>",
            "Task_work",
            "Task_work",
        ),
    )
)

INCLUSIVE = _doc(
    _process(
        "inclusive",
        _loop_body(
            "",
            "turns",
            '<bpmn:inclusiveGateway id="fork"/><bpmn:userTask id="Task_work"/>'
            '<bpmn:userTask id="Task_other"/><bpmn:inclusiveGateway id="ijoin"/>'
            + _flow("fork", "Task_work", "True")
            + _flow("fork", "Task_other", "turns % 2 == 0")
            + _flow("Task_work", "ijoin")
            + _flow("Task_other", "ijoin"),
            "fork",
            "ijoin",
        ),
    )
)

TWO_BRANCHES = _doc(
    _process(
        "two_branches",
        '<bpmn:startEvent id="s"/><bpmn:parallelGateway id="split"/>'
        '<bpmn:parallelGateway id="join"/><bpmn:endEvent id="e"/>'
        + _script("l_init", "left = 0")
        + '<bpmn:userTask id="Task_left"/>'
        + _script("l_count", "left = left + 1")
        + '<bpmn:exclusiveGateway id="l_more" default="f_l_more_Task_left"/>'
        + _script("r_init", "right = 0")
        + '<bpmn:userTask id="Task_right"/>'
        + _script("r_count", "right = right + 1")
        + '<bpmn:exclusiveGateway id="r_more" default="f_r_more_Task_right"/>'
        + _flow("s", "split")
        + _flow("split", "l_init")
        + _flow("split", "r_init")
        + _flow("l_init", "Task_left")
        + _flow("Task_left", "l_count")
        + _flow("l_count", "l_more")
        + _flow("l_more", "join", "left &gt;= limit")
        + _flow("l_more", "Task_left")
        + _flow("r_init", "Task_right")
        + _flow("Task_right", "r_count")
        + _flow("r_count", "r_more")
        + _flow("r_more", "join", "right &gt;= limit")
        + _flow("r_more", "Task_right")
        + _flow("join", "e"),
    )
)

# Documents each shape needs deployed beside it (the called procedure of ``call_activity``).
NEEDS: dict[str, list[str]] = {"call_activity": [PLAIN]}

SHAPES: dict[str, tuple[str, str]] = {
    "plain": (PLAIN, "plain"),
    "subprocess": (SUBPROCESS, "in_subprocess"),
    "call_activity": (CALLED, "caller"),
    "parallel": (PARALLEL, "parallel"),
    "parallel_three": (PARALLEL_THREE, "parallel_three"),
    "boundary_timer": (BOUNDARY_TIMER, "boundary_timer"),
    "multi_instance": (MULTI_INSTANCE, "multi_instance"),
    "inclusive": (INCLUSIVE, "inclusive"),
    "two_branches": (TWO_BRANCHES, "two_branches"),
}


def parsed_shape(name: str) -> tuple[Any, dict[str, Any]]:
    """(spec, subprocess specs) of a shape, with the documents it calls, parsed as a deploy would."""
    from engine.parsing import parse_definition

    xml, _ = SHAPES[name]
    parsed = parse_definition(xml.encode())
    subs = dict(parsed.local_specs)
    for needed in NEEDS.get(name, []):
        other = parse_definition(needed.encode())
        subs[other.key] = other.spec
        subs.update(other.local_specs)
    return parsed.spec, subs
