"""The inbox's priority, SLA state and sorts through HTTP, and who sees a task with candidate roles
(the ``audience`` key the inbox is read by)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.clock import ManualClock
from engine.models import HumanTask
from tests.api.conftest import Login
from tests.engine import documents

MESA = "mesa-de-servicio"


def _approval(**properties: str) -> str:
    """The approval process whose review task has these properties (and no form)."""
    props = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in properties.items())
    return documents.approval(form=False).replace(
        '<bpmn:userTask id="Task_review" name="1. Revisar la solicitud">',
        '<bpmn:userTask id="Task_review" name="1. Revisar la solicitud"><bpmn:extensionElements>'
        f"<spiffworkflow:properties>{props}</spiffworkflow:properties></bpmn:extensionElements>")


def _deploy(client: FlaskClient, xml: str) -> None:
    response = client.post("/api/v1/definitions", data=xml.encode(), content_type="application/xml")
    assert response.status_code in (200, 201), response.get_json()


def _start(caller: FlaskClient, data: dict[str, object] | None = None) -> str:
    started = caller.post("/api/v1/instances", json={"definition": "approval", "data": data or {}})
    assert started.status_code == 201, started.get_json()
    return started.get_json()["ready_tasks"][0]["id"]


def _items(caller: FlaskClient, query: str = "") -> list[dict[str, object]]:
    response = caller.get(f"/api/v1/tasks{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def _ids(caller: FlaskClient, query: str = "") -> list[str]:
    return [str(t["id"]) for t in _items(caller, query)]


def _write(app: Flask, task_id: str, **values: object) -> None:
    """Change an inbox row as the engine's other writers do (the SLA clocks, an escalation)."""
    with app.extensions["cauce"].service.uow.write() as session:
        row = session.get(HumanTask, task_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)
        session.commit()


def test_priority_comes_from_the_variable_the_priority_handler_writes(client: FlaskClient, login: Login,
                                                                      clock: ManualClock) -> None:
    _deploy(client, documents.approval(form=False))
    ana = login("ana", MESA)
    levels = ["low", "Critical", None, "high", "nonsense", "medium"]
    tasks = []
    for level in levels:
        tasks.append(_start(ana, {"prioridad": level} if level else {}))
        clock.advance(minutes=1)
    shown = {t["id"]: t["priority"] for t in _items(ana)}
    assert [shown[t] for t in tasks] == ["low", "critical", None, "high", None, "medium"]

    # critical first; then high, medium, low; tasks without a priority last, oldest first among equals
    by_priority = [tasks[1], tasks[3], tasks[5], tasks[0], tasks[2], tasks[4]]
    assert _ids(ana, "?sort=priority") == by_priority
    assert _ids(ana, "?sort=-priority") == by_priority[::-1]
    assert _ids(login("aud", "auditor"), "?all=true&sort=priority") == by_priority  # the path of all=true
    assert _ids(ana, "?priority=high") == [tasks[3]]
    assert _ids(ana, "?priority=critical&assignee=none") == [tasks[1]]
    page = ana.get("/api/v1/tasks?sort=priority&page=2&page_size=4").get_json()
    assert [t["id"] for t in page["items"]] == by_priority[4:] and page["total"] == 6
    assert ana.get("/api/v1/tasks?priority=urgent").status_code == 422
    assert ana.get("/api/v1/tasks?sort=importance").status_code == 422


def test_priority_from_task_properties(client: FlaskClient, login: Login) -> None:
    ana = login("ana", MESA)
    _deploy(client, _approval(priority="high"))
    fixed = _start(ana, {"prioridad": "low"})
    _deploy(client, _approval(priorityVariable="urgencia_calculada"))
    named = _start(ana, {"urgencia_calculada": "critical", "prioridad": "low"})
    shown = {t["id"]: t["priority"] for t in _items(ana)}
    assert shown == {fixed: "high", named: "critical"}
    assert ana.get(f"/api/v1/tasks/{named}").get_json()["priority"] == "critical"


def test_sla_state_and_due_date_are_shown_filtered_and_sorted(app: Flask, client: FlaskClient, login: Login,
                                                             clock: ManualClock) -> None:
    _deploy(client, documents.approval(form=False))
    ana = login("ana", MESA)
    tasks = []
    for _ in range(4):
        tasks.append(_start(ana))
        clock.advance(minutes=1)
    now = clock()
    _write(app, tasks[0], sla_state="at_risk", due_at=now + timedelta(hours=2))
    _write(app, tasks[2], sla_state="breached", due_at=now - timedelta(hours=1))
    _write(app, tasks[3], due_at=now + timedelta(hours=1))
    shown = {t["id"]: (t["sla_state"], t["due_at"]) for t in _items(ana)}
    assert shown[tasks[0]] == ("at_risk", (now + timedelta(hours=2)).isoformat())
    assert shown[tasks[1]] == (None, None)
    assert _ids(ana, "?sla_state=breached") == [tasks[2]] == _ids(ana, "?overdue=true")
    assert ana.get("/api/v1/tasks?sla_state=late").status_code == 422
    # soonest due first, tasks without a due date last; "-due" is the exact reverse
    assert _ids(ana, "?sort=due") == [tasks[2], tasks[3], tasks[0], tasks[1]]
    assert _ids(ana, "?sort=-due") == [tasks[1], tasks[0], tasks[3], tasks[2]]
    assert _ids(ana, "?sort=-created") == tasks[::-1]
    assert _ids(ana, "?due_before=" + (now + timedelta(minutes=90)).isoformat().replace("+00:00", "Z")) == [
        tasks[2], tasks[3]]
    # due dates order the priority sort among tasks of the same priority
    assert _ids(ana, "?sort=priority") == [tasks[2], tasks[3], tasks[0], tasks[1]]
    schema = client.get("/api/openapi.json").get_json()["components"]["schemas"]["InboxTask"]["properties"]
    assert {"sla_state", "priority", "due_at"} <= set(schema)


def test_candidate_roles_show_a_task_once_and_follow_an_escalation(app: Flask, client: FlaskClient,
                                                                    login: Login, clock: ManualClock) -> None:
    _deploy(client, _approval(candidateRoles="1er. Nivel;2do. Nivel"))
    both = login("both", MESA, "1er-nivel", "2do-nivel")
    first, second = login("first", "1er-nivel"), login("second", "2do-nivel")
    other = login("other", "cedn")
    tasks = []
    for _ in range(3):
        tasks.append(_start(both))
        clock.advance(minutes=1)
    assert _ids(both) == tasks  # in its lane and two candidate roles: listed once
    assert both.get("/api/v1/tasks").get_json()["total"] == 3
    assert _ids(first) == tasks == _ids(second, "?role=2do-nivel") and _ids(other) == []
    assert _ids(first, "?role=2do-nivel") == []  # a role filter narrows to the caller's own roles
    assert first.post(f"/api/v1/tasks/{tasks[0]}/claim").status_code == 200
    assert _ids(second) == tasks[1:] and _ids(first) == tasks and _ids(first, "?assignee=none") == tasks[1:]

    # An escalation opens a task to one more role (what the SLA "reassign" action does).
    _write(app, tasks[1], candidate_roles=["1er. Nivel", "2do. Nivel", "CEDN"])
    assert _ids(other) == [tasks[1]]
    with app.extensions["cauce"].service.uow.read() as session:
        audiences = set(session.scalars(select(HumanTask.audience).where(HumanTask.id.in_(tasks))))
    assert audiences == {"1er. Nivel\x1f2do. Nivel\x1fMesa de Servicio",
                         "1er. Nivel\x1f2do. Nivel\x1fCEDN\x1fMesa de Servicio"}


def test_pages_of_every_sort_merge_the_callers_branches_in_order(app: Flask, client: FlaskClient, login: Login,
                                                                 clock: ManualClock) -> None:
    """Tasks of three audiences and some claimed by the caller: each sort's pages, put together,
    are the whole inbox in the order the sort defines, with the right total on every page."""
    ana = login("ana", MESA, "1er-nivel")
    tasks: dict[str, dict[str, object]] = {}
    for n, candidates in enumerate(["", "1er. Nivel", "CEDN"] * 4):
        _deploy(client, _approval(candidateRoles=candidates) if candidates else documents.approval(form=False))
        level = [None, "low", "critical", "high"][n % 4]
        task = _start(ana, {"prioridad": level} if level else {})
        clock.advance(minutes=1)
        due = clock() + timedelta(hours=(n * 5) % 7) if n % 3 else None
        _write(app, task, due_at=due)
        if n % 5 == 0:
            assert ana.post(f"/api/v1/tasks/{task}/claim").status_code == 200
        tasks[task] = {"n": n, "rank": [4, 3, 0, 1][n % 4], "due": due}

    def key(sort: str, task: str) -> tuple[object, ...]:
        t = tasks[task]
        due = (t["due"] is None, t["due"] or clock())
        return {"created": (t["n"],), "due": (*due, t["n"]), "priority": (t["rank"], *due, t["n"])}[sort]

    for sort in ("created", "due", "priority"):
        expected = sorted(tasks, key=lambda task, sort=sort: key(sort, task))
        for direction, order in (("", expected), ("-", expected[::-1])):
            pages = [ana.get(f"/api/v1/tasks?sort={direction}{sort}&page={p}&page_size=5").get_json()
                     for p in (1, 2, 3, 4)]
            assert [t["id"] for p in pages for t in p["items"]] == order, (direction, sort)
            assert [p["total"] for p in pages] == [12] * 4
