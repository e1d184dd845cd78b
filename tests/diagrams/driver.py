"""Drive one diagram scenario through cauce's own runtime: no HTTP, no database, no sleeping.

A scenario (``tests/diagrams/scenarios/<KEY>.yaml``, format in ``tests/diagrams/README.md``) is run
exactly as the service would run it, so that what the tests prove holds in production:

* the diagram is parsed with :func:`engine.parsing.parse_definition` (the same validation a
  deploy does) and executed by :class:`engine.runtime.WorkflowRuntime`, so gateway conditions,
  scripts and parameter expressions run in cauce's restricted evaluator and the tree is pruned
  after every step, as in the service;
* time is a :class:`engine.clock.ManualClock`: a ``{timer: Timer_x}`` step moves it just past the
  due time the engine stored for that timer, then advances;
* service tasks call a stub that returns the scenario's ``services[<element id>]`` (``None`` when
  absent; the engine JSON-encodes it) and refuses handler names missing from the table in
  ``bpmn/CONVENTIONS.md``; a stub ``{raise_error: <code>}`` throws a BPMN error with that code so
  error boundaries are exercised (the stub raises ``handlers.errors.BusinessError`` and the
  engine's own ``engine.business_errors`` routing does the rest); a *list* stub gives one result
  per run of a task in a loop (no handler returns a bare list), and running the task more often
  than listed fails;
* call activities run the real callee from ``bpmn/`` (indexed by process id) unless the scenario
  stubs them in ``calls``; a stub is a generated process (start -> script setting the stub's data
  -> end, or start -> error end for ``{raise_error: <code>}``) that replaces the callee *for that
  call activity element only*;
* user-task (and manual-task) steps must name a READY task; their data is validated against the
  task's ``camunda:formData`` with :mod:`engine.forms` before the task is completed, as the API
  does, and keys that are no field of the form are refused: a value no form collects would only
  reach a gateway in a test;
* ``{message: <name>, data: {...}}`` delivers a ``BpmnEvent`` of the waiting catch event's own
  message definition through ``workflow.catch`` and puts ``data`` on the catching task;
* at the end ``expect_path`` must be an ordered subsequence of the completed element ids,
  every ``expect_end`` must have completed, and the instance must be completed (or, with
  ``expect_status: waiting``, still running without error).

How taken gateway flows are determined
--------------------------------------
SpiffWorkflow does not keep sequence-flow ids on its specs, and cauce prunes finished tasks from
the tree after every step, so the flows cannot be read afterwards. Instead the driver connects a
``completed_event`` callback to every gateway spec (the runtime records completed elements the
same way). When a gateway task completes, its children are exactly the outputs it chose: an
exclusive gateway calls ``_sync_children([chosen], FUTURE)`` and an inclusive gateway
``_sync_children(matches + defaults)`` inside ``_run_hook``, before ``_on_complete`` emits the
event; a parallel gateway keeps all its outputs. Each child's element id (a
``<id>.BoundaryEventSplit`` wrapper stands for the activity ``<id>``) is mapped back to the flow
id through the ``(sourceRef, targetRef)`` pairs of the diagram's XML.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import yaml
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.clock import ManualClock
from engine.forms import Form, read_forms
from engine.parsing import ParsedDefinition, parse_definition
from engine.runtime import StepResult, WorkflowRuntime
from handlers.errors import BusinessError

REPO = Path(__file__).resolve().parents[2]
BPMN_DIR = REPO / "bpmn"
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS}

#: The handler table of bpmn/CONVENTIONS.md: a diagram naming anything else cannot run in cauce.
HANDLERS: frozenset[str] = frozenset({
    "notify", "folio", "priority", "assign_by_workload", "set_status", "validate_curp_layout",
    "reconcile_curp", "check_certificate", "probe",
})
GATEWAY_TAGS: frozenset[str] = frozenset({
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
})
STUB_PREFIX = "Stub_"


class ScenarioFailure(AssertionError):
    """The scenario does not run as written; the message says where and why."""


# -- the diagram files ----------------------------------------------------------------------


def diagram_key(path: Path) -> str:
    """The canonical key of a diagram file: its name without ``.bpmn``."""
    return path.name[: -len(".bpmn")]


def process_id_for(key: str) -> str:
    """CONVENTIONS.md: the process id is the key with ``-`` and ``.`` replaced by ``_``."""
    return key.replace("-", "_").replace(".", "_")


@functools.cache
def diagram_files() -> dict[str, Path]:
    """Every ``bpmn/**/*.bpmn`` by key."""
    return {diagram_key(p): p for p in sorted(BPMN_DIR.rglob("*.bpmn"))}


@functools.cache
def xml_root(path: Path) -> etree._Element:
    return etree.parse(str(path), parser=etree.XMLParser(resolve_entities=False, no_network=True)).getroot()


@functools.cache
def process_index() -> dict[str, Path]:
    """The file of every executable process id (what a ``calledElement`` names)."""
    index: dict[str, Path] = {}
    for path in diagram_files().values():
        for process in xml_root(path).findall("bpmn:process", NS):
            if process.get("isExecutable") == "true" and process.get("id"):
                index[process.get("id") or ""] = path
    return index


@dataclass(frozen=True)
class Gateway:
    """A branching gateway (more than one outgoing flow): what the coverage check must see taken."""

    key: str
    id: str
    kind: str
    name: str | None
    flows: tuple[str, ...]


@dataclass
class DiagramIndex:
    """What the driver needs from a file's XML, beyond what SpiffWorkflow keeps."""

    key: str
    flows_by_pair: dict[tuple[str, str], list[str]]
    gateways: dict[str, Gateway]


@functools.cache
def diagram_index(path: Path) -> DiagramIndex:
    root = xml_root(path)
    key = diagram_key(path)
    pairs: dict[tuple[str, str], list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        src, tgt, fid = flow.get("sourceRef") or "", flow.get("targetRef") or "", flow.get("id") or ""
        pairs.setdefault((src, tgt), []).append(fid)
        outgoing.setdefault(src, []).append(fid)
    gateways: dict[str, Gateway] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        qname = etree.QName(el)
        if qname.namespace == BPMN_NS and qname.localname in GATEWAY_TAGS:
            gid = el.get("id") or ""
            flows = tuple(outgoing.get(gid, []))
            if len(flows) > 1:
                gateways[gid] = Gateway(key, gid, qname.localname, el.get("name"), flows)
    return DiagramIndex(key=key, flows_by_pair=pairs, gateways=gateways)


def scenario_file(key: str) -> Path:
    return SCENARIO_DIR / f"{key}.yaml"


@functools.cache
def load_scenarios(key: str) -> tuple[dict[str, Any], ...]:
    """The scenarios of one diagram, in file order (empty when it has no scenario file)."""
    path = scenario_file(key)
    if not path.exists():
        return ()
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    scenarios = doc.get("scenarios") or []
    if not isinstance(scenarios, list):
        raise ScenarioFailure(f"{path.name}: 'scenarios' must be a list")
    return tuple(scenarios)


def all_scenario_ids() -> list[tuple[str, int, str]]:
    """(key, index, name) of every scenario of every scenario file, for parametrization."""
    found = []
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        key = path.stem
        for i, scenario in enumerate(load_scenarios(key)):
            found.append((key, i, str(scenario.get("name") or f"#{i}")))
    return found


# -- results --------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    key: str
    name: str
    #: element ids in completion order, across the process and its called processes
    completed: list[str] = field(default_factory=list)
    #: (diagram key, gateway id, flow id) of every gateway flow taken, including inside callees
    taken: set[tuple[str, str, str]] = field(default_factory=set)
    status: str = "running"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """A scenario's result, or the reason it failed (kept so the coverage check can report it)."""

    result: ScenarioResult
    error: str | None = None


# -- stubs ----------------------------------------------------------------------------------


def _stub_process_xml(process_id: str, stub: Any) -> bytes:
    """A minimal executable process standing in for a called process.

    ``{raise_error: code}`` ends in an error end event with that code (exercises an error boundary
    on the call activity); any other mapping is copied into the data by a script task, and call
    activities copy the child's data back to the caller.
    """
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="Defs_{process_id}" targetNamespace="http://cauce.dev/tests">'
    )
    if isinstance(stub, dict) and set(stub) == {"raise_error"}:
        code = str(stub["raise_error"])
        return (
            head
            + f'<bpmn:error id="Error_{process_id}" name={quoteattr(code)} errorCode={quoteattr(code)}/>'
            + f'<bpmn:process id="{process_id}" isExecutable="true">'
            + f'<bpmn:startEvent id="{process_id}_start"/>'
            + f'<bpmn:endEvent id="{process_id}_error"><bpmn:errorEventDefinition errorRef="Error_{process_id}"/>'
            + "</bpmn:endEvent>"
            + f'<bpmn:sequenceFlow id="{process_id}_f1" sourceRef="{process_id}_start" targetRef="{process_id}_error"/>'
            + "</bpmn:process></bpmn:definitions>"
        ).encode()
    data = stub or {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and k.isidentifier() for k in data):
        raise ScenarioFailure(f"call stub for {process_id} must map variable names to values, got {stub!r}")
    script = "\n".join(f"{name} = {value!r}" for name, value in data.items()) or "pass"
    return (
        head
        + f'<bpmn:process id="{process_id}" isExecutable="true">'
        + f'<bpmn:startEvent id="{process_id}_start"/>'
        + f'<bpmn:scriptTask id="{process_id}_set"><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>'
        + f'<bpmn:endEvent id="{process_id}_end"/>'
        + f'<bpmn:sequenceFlow id="{process_id}_f1" sourceRef="{process_id}_start" targetRef="{process_id}_set"/>'
        + f'<bpmn:sequenceFlow id="{process_id}_f2" sourceRef="{process_id}_set" targetRef="{process_id}_end"/>'
        + "</bpmn:process></bpmn:definitions>"
    ).encode()


# -- the driver -----------------------------------------------------------------------------


class ScenarioDriver:
    """Runs one scenario; :meth:`run` returns the result or raises :class:`ScenarioFailure`."""

    def __init__(self, key: str, scenario: dict[str, Any]) -> None:
        if key not in diagram_files():
            raise ScenarioFailure(f"no diagram bpmn/**/{key}.bpmn for scenario file {key}.yaml")
        self.key = key
        self.scenario = scenario
        self.name = str(scenario.get("name") or "?")
        self.services: dict[str, Any] = dict(scenario.get("services") or {})
        self.calls: dict[str, Any] = dict(scenario.get("calls") or {})
        self.result = ScenarioResult(key=key, name=self.name)
        self.clock = ManualClock()
        self.runtime = WorkflowRuntime(call_service=self._call_service)
        self.runtime.clock = self.clock
        self.forms: dict[tuple[str, str], Form] = {}
        self.spec_files: dict[str, Path] = {}  # process/sub-process spec name -> file
        self.handler_errors: list[str] = []
        self.used_stubs: set[str] = set()
        self.service_calls: dict[str, int] = {}

    # -- setup ----------------------------------------------------------------------------

    def _parse(self, path: Path) -> ParsedDefinition:
        source = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name
        parsed = parse_definition(path.read_bytes(), source_name=source)
        self.forms.update(read_forms(xml_root(path)))
        for spec in (parsed.spec, *parsed.local_specs.values()):
            self.spec_files[spec.name] = path
        return parsed

    def _bundle(self) -> tuple[WorkflowSpec, dict[str, WorkflowSpec]]:
        """Parse the diagram and, transitively, every callee (real or stubbed)."""
        top = self._parse(diagram_files()[self.key])
        subs: dict[str, WorkflowSpec] = dict(top.local_specs)
        pending: list[WorkflowSpec] = [top.spec, *top.local_specs.values()]
        seen: set[str] = set()
        while pending:
            spec = pending.pop()
            if spec.name in seen:
                continue
            seen.add(spec.name)
            for task_spec in spec.task_specs.values():
                if not isinstance(task_spec, SubWorkflowTask):
                    continue
                element = task_spec.bpmn_id
                if element in self.calls and isinstance(task_spec, CallActivity):
                    stub_id = f"{STUB_PREFIX}{element}"
                    task_spec.spec = stub_id  # this element only; other callers keep the real callee
                    if stub_id not in subs:
                        stub = parse_definition(_stub_process_xml(stub_id, self.calls[element]),
                                                source_name=f"{stub_id}.bpmn")
                        subs[stub_id] = stub.spec
                    self.used_stubs.add(element)
                    continue
                if task_spec.spec in subs:
                    continue  # an embedded sub-process, or a callee already loaded
                path = process_index().get(task_spec.spec)
                if path is None:
                    raise ScenarioFailure(
                        f"call activity {element} calls process {task_spec.spec!r}, which no file in bpmn/ "
                        f"defines; stub it under 'calls: {{{element}: {{...}}}}'"
                    )
                callee = self._parse(path)
                subs[task_spec.spec] = callee.spec
                subs.update(callee.local_specs)
                pending.extend([callee.spec, *callee.local_specs.values()])
        unknown = set(self.calls) - self.used_stubs
        if unknown:
            raise ScenarioFailure(f"'calls' names elements that are not call activities: {sorted(unknown)}")
        specs = [top.spec, *subs.values()]
        self.runtime.instrument(specs)  # completion records + business-error routing, as in the service
        for spec in specs:
            self._instrument_gateways(spec)
        return top.spec, subs

    def _instrument_gateways(self, spec: WorkflowSpec) -> None:
        path = self.spec_files.get(spec.name)
        index = diagram_index(path) if path is not None else None
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if index is not None and bpmn_id in index.gateways:
                task_spec.completed_event.connect(self._gateway_completed, index)

    def _gateway_completed(self, workflow: Any, task: Task, index: DiagramIndex) -> None:
        """Record the flows a gateway took: its children at completion are its chosen outputs."""
        gateway = task.task_spec.bpmn_id
        for child in task.children:
            target = child.task_spec.bpmn_id or child.task_spec.name.split(".BoundaryEventSplit")[0]
            for flow in index.flows_by_pair.get((gateway, target), []):
                self.result.taken.add((index.key, gateway, flow))

    def _call_service(self, task: Any, operation_name: str, params: dict[str, Any]) -> Any:
        """Stub of every handler: the scenario's value for this element (the engine JSON-encodes it)."""
        element = task.task_spec.bpmn_id
        if operation_name not in HANDLERS:
            message = (f"service task {element} names handler {operation_name!r}, which is not in the "
                       f"CONVENTIONS.md table ({', '.join(sorted(HANDLERS))})")
            self.handler_errors.append(message)
            raise ScenarioFailure(message)
        stub = self.services.get(element)
        if isinstance(stub, list):
            # Successive results for a task run several times (a loop); no handler returns a bare list.
            calls = self.service_calls[element] = self.service_calls.get(element, 0) + 1
            if calls > len(stub):
                message = (f"service task {element} ran {calls} times but its stub lists {len(stub)} results")
                self.handler_errors.append(message)
                raise ScenarioFailure(message)
            stub = stub[calls - 1]
        if isinstance(stub, dict) and set(stub) == {"raise_error"}:
            # What a real handler raises for a routable outcome; engine.business_errors turns it
            # into the BPMN error with this code (or an instance error when nothing catches it).
            raise BusinessError(f"stubbed business error {stub['raise_error']}", code=str(stub["raise_error"]))
        return stub

    # -- steps ----------------------------------------------------------------------------

    def _advance(self, workflow: BpmnWorkflow, action: Callable[[], Any] | None, what: str) -> StepResult:
        step = self.runtime.advance(workflow, action)
        self.result.completed.extend(e.element_id for e in step.completed)
        if self.handler_errors:
            raise ScenarioFailure(self.handler_errors[0])
        if step.error is not None:
            raise ScenarioFailure(
                f"{what}: the engine stopped with an error at {step.error.get('element_id')}: "
                f"{step.error.get('message')}"
            )
        return step

    def _tasks(self, workflow: BpmnWorkflow, state: int) -> list[Task]:
        tasks = list(workflow.get_tasks(state=state))
        for sub in workflow.subprocesses.values():
            tasks.extend(sub.get_tasks(state=state))
        return tasks

    def _where(self, workflow: BpmnWorkflow) -> str:
        ready = sorted({t.element_id for t in self.runtime.ready_human_tasks(workflow)})
        waiting_tasks = [t for t in self._tasks(workflow, TaskState.WAITING) if t.task_spec.bpmn_id]
        events = sorted({t.task_spec.bpmn_id for t in waiting_tasks if getattr(t.task_spec, "event_definition", None)})
        others = sorted({t.task_spec.bpmn_id for t in waiting_tasks} - set(events))
        where = f"ready user tasks: {ready or 'none'}; waiting events: {events or 'none'}"
        if others:
            where += f"; waiting joins/activities: {others}"
        return where + f"; status: {self.runtime.status(workflow)}"

    def _user_task(self, workflow: BpmnWorkflow, n: int, step: dict[str, Any]) -> None:
        element = step["task"]
        data = dict(step.get("data") or {})
        ready = [t for t in self._tasks(workflow, TaskState.READY)
                 if t.task_spec.manual and t.task_spec.bpmn_id == element]
        if not ready:
            raise ScenarioFailure(f"step {n} ({element}): the task is not ready; {self._where(workflow)}")
        task = ready[0]
        form = self.forms.get((task.workflow.spec.name, element))
        if form is None:
            # a user task of an embedded sub-process is keyed by its executable process
            form = next((f for (pid, eid), f in self.forms.items() if eid == element
                         and self.spec_files.get(pid) == self.spec_files.get(task.workflow.spec.name)), None)
        # A value no form field collects could only reach the process in a test; a gateway reading
        # it would pass here and get stuck in production. (Manual tasks have no form: no data.)
        fields = [f.id for f in form.fields] if form is not None else []
        extra = sorted(set(data) - set(fields))
        if extra:
            raise ScenarioFailure(f"step {n} ({element}): data keys that are not fields of the task's form: {extra}; "
                                  f"form fields: {fields}")
        if form is not None:
            errors = form.validate(data)
            if errors:
                detail = "; ".join(f"{fid}: {' '.join(msgs)}" for fid, msgs in errors.items())
                raise ScenarioFailure(f"step {n} ({element}): the data does not satisfy the form: {detail}")

        def complete() -> None:
            task.data.update(data)
            task.run()

        self._advance(workflow, complete, f"step {n} ({element})")

    def _timer(self, workflow: BpmnWorkflow, n: int, element: str) -> None:
        waiting = [t for t in self._tasks(workflow, TaskState.WAITING) if t.task_spec.bpmn_id == element]
        if not waiting:
            raise ScenarioFailure(f"step {n} (timer {element}): no timer {element} is waiting; {self._where(workflow)}")
        task = waiting[0]
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(definition, TimerEventDefinition):
            raise ScenarioFailure(f"step {n}: {element} is not a timer event")
        due = _due_time(task.internal_data.get("event_value"))
        if due is None:
            raise ScenarioFailure(f"step {n} (timer {element}): the timer has no due time "
                                  f"(event_value={task.internal_data.get('event_value')!r})")
        if due >= self.clock.now:
            self.clock.set(due + timedelta(seconds=1))
        before = len(self.result.completed)
        self._advance(workflow, None, f"step {n} (timer {element})")
        if element not in self.result.completed[before:]:
            # A cycle timer does not complete while cycles remain; each firing adds a new branch.
            # Record the firing so expect_path can name the timer.
            self.result.completed.insert(before, element)

    def _message(self, workflow: BpmnWorkflow, n: int, step: dict[str, Any]) -> None:
        name = step["message"]
        data = dict(step.get("data") or {})
        catching = [
            t for t in self._tasks(workflow, TaskState.WAITING)
            if type(getattr(t.task_spec, "event_definition", None)).__name__ == "MessageEventDefinition"
            and name in (t.task_spec.event_definition.name, t.task_spec.bpmn_id)
        ]
        if not catching:
            raise ScenarioFailure(
                f"step {n} (message {name!r}): no message catch event waits for it; {self._where(workflow)}"
            )

        def deliver() -> None:
            for task in catching:
                workflow.top_workflow.catch(BpmnEvent(task.task_spec.event_definition, payload=data))
                # spiff message definitions only keep the payload when a message variable is set;
                # the scenario's data goes to the catching task so downstream gateways can read it.
                task.data.update(data)

        self._advance(workflow, deliver, f"step {n} (message {name!r})")

    # -- run ------------------------------------------------------------------------------

    def run(self) -> ScenarioResult:
        spec, subs = self._bundle()
        workflow = self.runtime.create(spec, subs, dict(self.scenario.get("data") or {}))
        self._advance(workflow, None, "start")
        for n, step in enumerate(self.scenario.get("steps") or [], start=1):
            if not isinstance(step, dict):
                raise ScenarioFailure(f"step {n} must be a mapping, got {step!r}")
            if "task" in step:
                self._user_task(workflow, n, step)
            elif "timer" in step:
                self._timer(workflow, n, str(step["timer"]))
            elif "message" in step:
                self._message(workflow, n, step)
            else:
                raise ScenarioFailure(f"step {n} names no task, timer or message: {step!r}")
        self.result.status = self.runtime.status(workflow)
        self.result.data = self.runtime.current_data(workflow)
        self._check(workflow)
        return self.result

    def _check(self, workflow: BpmnWorkflow) -> None:
        completed = self.result.completed
        expected = list(self.scenario.get("expect_path") or [])
        missing = _first_not_in_order(expected, completed)
        if missing is not None:
            raise ScenarioFailure(
                f"expect_path: {expected[missing]!r} (item {missing + 1}) is not completed in this order after "
                f"{expected[:missing]!r}; completed: {completed}"
            )
        ends = self.scenario.get("expect_end")
        for end in [ends] if isinstance(ends, str) else list(ends or []):
            if end not in completed:
                raise ScenarioFailure(
                    f"expect_end: {end!r} was not reached; completed: {completed}; {self._where(workflow)}"
                )
        expected_status = self.scenario.get("expect_status", "completed")
        status = "completed" if self.result.status == "completed" else "waiting"
        if self.result.status == "error" or status != expected_status:
            raise ScenarioFailure(
                f"the instance is {self.result.status} after the last step, expected {expected_status}; "
                f"{self._where(workflow)}"
            )


def _due_time(value: Any) -> datetime | None:
    """The next due time of a timer from its stored ``event_value`` (cycle timers keep a dict)."""
    if isinstance(value, dict):
        value = value.get("next")
    if not isinstance(value, str) or not value[:1].isdigit():
        return None
    try:
        return TimerEventDefinition.get_datetime(value)
    except ValueError:
        return None


def _first_not_in_order(expected: list[str], completed: list[str]) -> int | None:
    """Index of the first item of ``expected`` that breaks "ordered subsequence of completed"."""
    position = 0
    for i, item in enumerate(expected):
        try:
            position = completed.index(item, position) + 1
        except ValueError:
            return i
    return None


def run_scenario(key: str, scenario: dict[str, Any]) -> ScenarioResult:
    """Run one scenario mapping against diagram ``key``; raises :class:`ScenarioFailure`."""
    return ScenarioDriver(key, scenario).run()


@functools.cache
def cached_outcome(key: str, index: int) -> Outcome:
    """Run scenario ``index`` of ``key`` once per process (the scenario and coverage tests share it)."""
    scenario = load_scenarios(key)[index]
    driver = ScenarioDriver(key, scenario)
    try:
        return Outcome(driver.run())
    except ScenarioFailure as exc:
        return Outcome(driver.result, str(exc))
    except Exception as exc:  # a harness or engine crash is still a failed scenario, with its cause
        return Outcome(driver.result, f"{exc.__class__.__name__}: {exc}")
