"""Diagrams whose service tasks call the built-in handlers, for the set_status/folio/notify tests."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from tests.engine.loop_shapes import _doc, _flow, _process


def service_steps(pid: str, steps: list[tuple[str, str, dict[str, str]]], *, review_between: bool = False) -> str:
    """start -> one service task per ``(handler, result variable, {parameter: expression})`` -> Revisar -> end.

    With ``review_between`` a user task ``Task_mid`` sits after the first service task, so that
    the steps after it run in a later transaction (completing the task).
    """
    body = '<bpmn:startEvent id="start"/>'
    ids = []
    for n, (handler, variable, params) in enumerate(steps, start=1):
        parameters = "".join(f'<spiffworkflow:parameter id="{name}" type="str" value={quoteattr(expr)}/>'
                             for name, expr in params.items())
        body += (
            f'<bpmn:serviceTask id="Step_{n}"><bpmn:extensionElements>'
            f'<spiffworkflow:serviceTaskOperator id="{handler}" resultVariable="{variable}">'
            f"<spiffworkflow:parameters>{parameters}</spiffworkflow:parameters>"
            "</spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>"
        )
        ids.append(f"Step_{n}")
        if review_between and n == 1:
            body += '<bpmn:userTask id="Task_mid"/>'
            ids.append("Task_mid")
    body += '<bpmn:userTask id="Task_review"/><bpmn:endEvent id="end"/>'
    chain = ["start", *ids, "Task_review", "end"]
    body += "".join(_flow(a, b) for a, b in zip(chain, chain[1:], strict=False))
    return _doc(_process(pid, body))
