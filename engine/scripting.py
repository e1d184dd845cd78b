"""Run the Python in diagrams (conditions, scripts, timer and parameter expressions) safely.

SpiffWorkflow's default engine runs plain ``eval``/``exec`` with full builtins, so a process
owner's diagram could read files or import ``os``. Here every expression is compiled with
RestrictedPython (no imports, no ``_``-prefixed attributes, guarded item access and writes),
runs with a small set of builtins, and is stopped by a trace hook once its time is up.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import lru_cache
from types import CodeType, FrameType
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .errors import ScriptError

_EXTRA_BUILTINS = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in (
        "all", "any", "dict", "enumerate", "list", "max", "min", "reversed", "set", "sorted",
        "sum", "map", "filter",
    )
}


def _inplace(op: str, x: Any, y: Any) -> Any:
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": lambda a, b: a * b,
        "/=": lambda a, b: a / b, "//=": lambda a, b: a // b, "%=": lambda a, b: a % b,
    }
    if op not in ops:
        raise ScriptError(f"operator {op} is not allowed in diagram scripts")
    return ops[op](x, y)


def _base_globals() -> dict[str, Any]:
    return {
        "__builtins__": {**safe_builtins, **_EXTRA_BUILTINS},
        "_getattr_": safer_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": _inplace,
    }


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> CodeType:
    result = (compile_restricted_eval if mode == "eval" else compile_restricted_exec)(source)
    if result.errors:
        raise ScriptError(
            "The expression is not allowed: " + "; ".join(result.errors), expression=source
        )
    assert result.code is not None
    return result.code


class _Deadline:
    """A trace hook that aborts the traced code once ``timeout_s`` has passed."""

    def __init__(self, timeout_s: float) -> None:
        self.deadline = time.monotonic() + timeout_s
        self.timeout_s = timeout_s

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > self.deadline:
            raise TimeoutError(f"script ran longer than {self.timeout_s:g} s")
        return self

    def run(self, code: CodeType, scope: dict[str, Any]) -> Any:
        previous = sys.gettrace()
        sys.settrace(self)
        try:
            return eval(code, scope)  # noqa: S307 - restricted code, guarded globals
        finally:
            sys.settrace(previous)


class RestrictedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment whose eval/exec go through RestrictedPython and a time limit."""

    def __init__(self, timeout_s: float = 2.0) -> None:
        super().__init__({})
        self.timeout_s = timeout_s

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        scope = {**_base_globals(), **(external_context or {}), **context}
        return _Deadline(self.timeout_s).run(_compile(expression, "eval"), scope)

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        base = _base_globals()
        scope = {**base, **(external_context or {}), **context}
        _Deadline(self.timeout_s).run(_compile(script, "exec"), scope)
        for name in list(context):
            if name not in scope:
                del context[name]
        for name, value in scope.items():
            if name in base or (external_context and name in external_context):
                continue
            if callable(value) or isinstance(value, type(sys)):
                continue
            context[name] = value
        return True


ServiceCaller = Callable[[Any, str, dict[str, Any]], Any]


class CauceScriptEngine(PythonScriptEngine):
    """Script engine for every workflow: restricted scripts, service tasks through handlers."""

    def __init__(self, *, timeout_s: float = 2.0, call_service: ServiceCaller | None = None) -> None:
        super().__init__(environment=RestrictedEnvironment(timeout_s))
        self._call_service = call_service

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as exc:
            exc.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as exc:
            raise WorkflowTaskException(
                f"Error evaluating expression '{expression}': {exc.__class__.__name__}: {exc}",
                task=task, exception=exc,
            ) from exc

    def call_service(self, task: Any, operation_name: str = "", operation_params: dict[str, Any] | None = None,
                     **_: Any) -> str:
        """Call a registered handler; the library's own version hides errors behind a NameError."""
        if self._call_service is None:
            raise WorkflowTaskException(
                f"No handler can run here for service '{operation_name}'", task=task
            )
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        try:
            result = self._call_service(task, operation_name, params)
        except SpiffWorkflowException:
            raise  # already carries the task (e.g. a BPMN error the diagram routes)
        except Exception as exc:
            # Wrapped so that the error names the element, which an operator needs to find it.
            raise WorkflowTaskException(
                f"Handler '{operation_name}' failed: {exc.__class__.__name__}: {exc}", task=task, exception=exc
            ) from exc
        return json.dumps(result)
