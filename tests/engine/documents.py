"""Small BPMN documents for engine and API tests, each showing one behaviour."""

from __future__ import annotations

from tests.engine.loop_shapes import _doc, _flow, _process, _script

_FORM_NS = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '


_FORM = (
    '<bpmn:extensionElements><camunda:formData>'
    '<camunda:formField id="aprobada" label="¿Aprobada?" type="enum">'
    '<camunda:validation><camunda:constraint name="required"/></camunda:validation>'
    '<camunda:value id="Sí" name="Sí"/><camunda:value id="No" name="No"/></camunda:formField>'
    '<camunda:formField id="comentario" label="Comentario" type="string"/>'
    "</camunda:formData></bpmn:extensionElements>"
)


def approval(form: bool = True) -> str:
    """start -> Revisar (user task with a form, lane Mesa de Servicio) -> ¿Aprobada? -> end_ok | end_no."""
    xml = _doc(_process(
        "approval",
        '<bpmn:laneSet id="ls"><bpmn:lane id="lane_mesa" name="Mesa de Servicio">'
        "<bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_review</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>gw</bpmn:flowNodeRef><bpmn:flowNodeRef>end_ok</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>end_no</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
        '<bpmn:startEvent id="start"/>'
        f'<bpmn:userTask id="Task_review" name="1. Revisar la solicitud">{_FORM if form else ""}</bpmn:userTask>'
        '<bpmn:exclusiveGateway id="gw" name="¿Aprobada?"/>'
        '<bpmn:endEvent id="end_ok"/><bpmn:endEvent id="end_no"/>'
        + _flow("start", "Task_review") + _flow("Task_review", "gw")
        + _flow("gw", "end_ok", 'aprobada == "Sí"') + _flow("gw", "end_no", 'aprobada == "No"'),
    ))
    return xml.replace("<bpmn:definitions ", "<bpmn:definitions " + _FORM_NS, 1)


def service_call(handler: str = "stamp") -> str:
    """start -> service task calling ``handler`` -> Revisar -> end."""
    return _doc(_process(
        "service_call",
        '<bpmn:startEvent id="start"/>'
        f'<bpmn:serviceTask id="Call_handler"><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id="{handler}" resultVariable="stamped">'
        '<spiffworkflow:parameters><spiffworkflow:parameter id="value" type="str" value="folio_base"/>'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>"
        "</bpmn:serviceTask>"
        '<bpmn:userTask id="Task_review"/><bpmn:endEvent id="end"/>'
        + _flow("start", "Call_handler") + _flow("Call_handler", "Task_review") + _flow("Task_review", "end"),
    ))


def script(code: str, pid: str = "scripted") -> str:
    """start -> script task running ``code`` -> Revisar -> end."""
    return _doc(_process(
        pid,
        '<bpmn:startEvent id="start"/>' + _script("Script_1", code)
        + '<bpmn:userTask id="Task_review"/><bpmn:endEvent id="end"/>'
        + _flow("start", "Script_1") + _flow("Script_1", "Task_review") + _flow("Task_review", "end"),
    ))


def condition(expression: str) -> str:
    """start -> gateway whose only condition is ``expression`` (default elsewhere) -> end."""
    return _doc(_process(
        "conditioned",
        '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="gw" default="f_gw_end_b"/>'
        '<bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>'
        + _flow("start", "gw") + _flow("gw", "end_a", expression) + _flow("gw", "end_b"),
    ))


def timer_escalation() -> str:
    """A task with an interrupting 1-hour boundary timer that escalates to another task."""
    return _doc(_process(
        "escalation",
        '<bpmn:startEvent id="start"/><bpmn:userTask id="Task_first" name="Atender en 1er. nivel"/>'
        '<bpmn:boundaryEvent id="Timer_1h" attachedToRef="Task_first">'
        '<bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>'
        '</bpmn:boundaryEvent><bpmn:userTask id="Task_second" name="Atender en 2do. nivel"/>'
        '<bpmn:endEvent id="end_first"/><bpmn:endEvent id="end_second"/>'
        + _flow("start", "Task_first") + _flow("Task_first", "end_first")
        + _flow("Timer_1h", "Task_second") + _flow("Task_second", "end_second"),
    ))


def parallel_pair() -> str:
    """Two user tasks in parallel, each adding to ``total``; the join waits for both."""
    return _doc(_process(
        "pair",
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        '<bpmn:userTask id="Task_a"/><bpmn:userTask id="Task_b"/><bpmn:parallelGateway id="join"/>'
        + _script("sum", "total = a + b") + '<bpmn:endEvent id="end"/>'
        + _flow("start", "split") + _flow("split", "Task_a") + _flow("split", "Task_b")
        + _flow("Task_a", "join") + _flow("Task_b", "join") + _flow("join", "sum") + _flow("sum", "end"),
    ))


__all__ = ["approval", "condition", "parallel_pair", "script", "service_call", "timer_escalation", "_FORM_NS"]


def business_error(code: str = "certificado_invalido") -> str:
    """A service task with an error boundary catching ``code``: Corregir on error, Continuar otherwise."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" '
        'targetNamespace="http://cauce.dev/tests">'
        f'<bpmn:error id="Error_cert" name="{code}" errorCode="{code}"><bpmn:extensionElements>'
        "<spiffworkflow:variableName>error</spiffworkflow:variableName></bpmn:extensionElements></bpmn:error>"
        '<bpmn:process id="checked" isExecutable="true">'
        '<bpmn:startEvent id="start"/>'
        '<bpmn:serviceTask id="Check"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="check" resultVariable="checked">'
        '<spiffworkflow:parameters><spiffworkflow:parameter id="value" type="str" value="certificado"/>'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>"
        "</bpmn:serviceTask>"
        '<bpmn:boundaryEvent id="Error_boundary" attachedToRef="Check">'
        '<bpmn:errorEventDefinition errorRef="Error_cert"/></bpmn:boundaryEvent>'
        '<bpmn:userTask id="Task_continue"/><bpmn:userTask id="Task_fix"/>'
        '<bpmn:endEvent id="end_ok"/><bpmn:endEvent id="end_fixed"/>'
        + _flow("start", "Check") + _flow("Check", "Task_continue") + _flow("Task_continue", "end_ok")
        + _flow("Error_boundary", "Task_fix") + _flow("Task_fix", "end_fixed")
        + "</bpmn:process></bpmn:definitions>"
    )
