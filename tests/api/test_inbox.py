"""The inbox through HTTP: scope, filters, claims, assignment, comments, forms, assigneeVariable."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.clock import ManualClock
from tests.api.conftest import Login
from tests.engine import documents

MESA = "mesa-de-servicio"


def _deploy(client: FlaskClient, xml: str) -> None:
    response = client.post("/api/v1/definitions", data=xml.encode(), content_type="application/xml")
    assert response.status_code in (200, 201), response.get_json()


def _ids(caller: FlaskClient, query: str = "") -> list[str]:
    response = caller.get(f"/api/v1/tasks{query}")
    assert response.status_code == 200, response.get_json()
    return [t["id"] for t in response.get_json()["items"]]


def _assigned_by_variable(variable: str) -> str:
    return documents.approval(form=False).replace(
        '<bpmn:userTask id="Task_review" name="1. Revisar la solicitud">',
        '<bpmn:userTask id="Task_review" name="1. Revisar la solicitud"><bpmn:extensionElements>'
        f'<spiffworkflow:properties><spiffworkflow:property name="assigneeVariable" value="{variable}"/>'
        '</spiffworkflow:properties></bpmn:extensionElements>')


def test_scope_claim_conflicts_and_completion(client: FlaskClient, login: Login, clock: ManualClock) -> None:
    _deploy(client, documents.approval())
    ana, beto = login("ana", MESA), login("beto", MESA)
    otro = login("otro", "1er-nivel")
    auditor = login("aud", "auditor")
    started = []
    for n in range(3):
        started.append(ana.post("/api/v1/instances", json={"definition": "approval", "business_key": f"SOL-{n}"})
                       .get_json())
        clock.advance(minutes=1)
    tasks = [s["ready_tasks"][0]["id"] for s in started]
    assert started[0]["requester"] == "ana"
    assert _ids(ana) == tasks and _ids(beto) == tasks and _ids(otro) == []
    assert _ids(auditor) == [] and _ids(auditor, "?all=true") == tasks
    assert otro.get("/api/v1/tasks?all=true").status_code == 403

    item = ana.get("/api/v1/tasks?page_size=1").get_json()
    assert item["total"] == 3 and len(item["items"]) == 1
    first = item["items"][0]
    assert first["lane"] == {"id": MESA, "name": "Mesa de Servicio"}
    assert first["definition"] == {"key": "approval", "version": 1, "manual_key": None, "name": None}
    assert first["instance"]["business_key"] == "SOL-0" and first["instance"]["requester"] == "ana"
    assert first["form"]["required"] == ["aprobada"] and first["assignee"] is None

    claimed = ana.post(f"/api/v1/tasks/{tasks[0]}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "ana"
    assert ana.post(f"/api/v1/tasks/{tasks[0]}/claim").status_code == 200  # claiming again is harmless
    assert beto.post(f"/api/v1/tasks/{tasks[0]}/claim").status_code == 409
    assert otro.post(f"/api/v1/tasks/{tasks[1]}/claim").status_code == 403
    assert _ids(beto) == tasks[1:] and _ids(ana) == tasks
    assert _ids(ana, "?assignee=me") == [tasks[0]] and _ids(ana, "?assignee=none") == tasks[1:]
    assert _ids(auditor, "?all=true&assignee=ana") == [tasks[0]]
    forbidden = beto.post(f"/api/v1/tasks/{tasks[0]}/complete", json={"data": {"aprobada": "Sí"}})
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["details"]["assignee"] == "ana"
    assert otro.post(f"/api/v1/tasks/{tasks[1]}/complete", json={"data": {"aprobada": "Sí"}}).status_code == 403
    invalid = ana.post(f"/api/v1/tasks/{tasks[0]}/complete", json={"data": {"aprobada": "Quizá"}})
    assert invalid.status_code == 422 and "aprobada" in invalid.get_json()["error"]["details"]["fields"]
    done = ana.post(f"/api/v1/tasks/{tasks[0]}/complete", json={"data": {"aprobada": "Sí"}})
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    assert ana.post(f"/api/v1/tasks/{tasks[0]}/claim").status_code == 409  # no longer ready
    assert _ids(ana) == tasks[1:]
    assert _ids(ana, "?status=completed") == [tasks[0]] and _ids(beto, "?status=completed") == []
    assert ana.get(f"/api/v1/tasks/{tasks[0]}").get_json()["completed_by"] == "ana"

    # beto releases nothing of ana's he may not; an admin may; someone of the role may hand it over.
    ana.post(f"/api/v1/tasks/{tasks[1]}/claim")
    assert otro.post(f"/api/v1/tasks/{tasks[1]}/unclaim").status_code == 403
    assert beto.post(f"/api/v1/tasks/{tasks[1]}/unclaim").get_json()["assignee"] is None
    handed = ana.post(f"/api/v1/tasks/{tasks[1]}/assign", json={"user": "beto"})
    assert handed.status_code == 200 and handed.get_json()["assignee"] == "beto"
    assert ana.post(f"/api/v1/tasks/{tasks[2]}/assign", json={"user": "otro"}).status_code == 422
    assert ana.post(f"/api/v1/tasks/{tasks[2]}/assign", json={"user": "nadie"}).status_code == 422
    assert otro.post(f"/api/v1/tasks/{tasks[2]}/assign", json={"user": "ana"}).status_code == 403
    assert _ids(beto, "?assignee=me") == [tasks[1]]


def test_filters_sort_and_pagination(client: FlaskClient, login: Login, clock: ManualClock) -> None:
    _deploy(client, documents.approval())
    _deploy(client, documents.parallel_pair())
    ana = login("ana", MESA)
    approvals = []
    for _ in range(4):
        approvals.append(ana.post("/api/v1/instances", json={"definition": "approval"}).get_json())
        clock.advance(minutes=1)
    pair = ana.post("/api/v1/instances", json={"definition": "pair"}).get_json()
    approval_tasks = [a["ready_tasks"][0]["id"] for a in approvals]
    assert _ids(ana, "?definition=approval") == approval_tasks
    assert _ids(ana, "?sort=-created&definition=approval") == approval_tasks[::-1]
    assert _ids(ana, f"?instance={pair['id']}") == [t["id"] for t in pair["ready_tasks"]]
    assert _ids(ana, "?role=Mesa de Servicio") == approval_tasks == _ids(ana, f"?role={MESA}")
    assert _ids(ana, "?lane=Mesa de Servicio") == approval_tasks
    pages = [ana.get(f"/api/v1/tasks?definition=approval&page={p}&page_size=3").get_json() for p in (1, 2)]
    assert [p["total"] for p in pages] == [4, 4] and [len(p["items"]) for p in pages] == [3, 1]
    assert _ids(ana, "?overdue=true") == [] and _ids(ana, "?due_before=2030-01-01T00:00:00Z") == []
    assert len(_ids(ana, "?sort=due")) == 4 + len(pair["ready_tasks"])
    assert ana.get("/api/v1/tasks?role=nope").status_code == 404
    assert ana.get("/api/v1/tasks?sort=sideways").status_code == 422


def test_form_and_comments(client: FlaskClient, login: Login) -> None:
    _deploy(client, documents.approval())
    ana, aud = login("ana", MESA), login("aud", "auditor")
    task = ana.post("/api/v1/instances", json={"definition": "approval"}).get_json()["ready_tasks"][0]["id"]
    form = aud.get(f"/api/v1/tasks/{task}/form").get_json()
    assert form["type"] == "object" and form["required"] == ["aprobada"]
    assert form["properties"]["aprobada"]["enum"] == ["Sí", "No"] and form["properties"]["aprobada"]["title"]
    assert ana.post(f"/api/v1/tasks/{task}/comments", json={"body": "Falta el oficio"}).status_code == 201
    assert ana.post(f"/api/v1/tasks/{task}/comments", json={"body": ""}).status_code == 422
    assert aud.post(f"/api/v1/tasks/{task}/comments", json={"body": "x"}).status_code == 403
    comments = aud.get(f"/api/v1/tasks/{task}/comments").get_json()["items"]
    assert [(c["author"], c["body"]) for c in comments] == [("ana", "Falta el oficio")]
    assert aud.get("/api/v1/tasks/nope/comments").status_code == 404
    assert aud.get("/api/v1/tasks/nope/form").status_code == 404


def test_assignee_variable_gives_the_task_to_that_user(client: FlaskClient, login: Login) -> None:
    _deploy(client, _assigned_by_variable("revisor"))
    ana, leo = login("ana", MESA), login("leo", "1er-nivel")
    started = ana.post("/api/v1/instances", json={"definition": "approval", "data": {"revisor": "leo"}}).get_json()
    task = started["ready_tasks"][0]
    assert task["assignee"] == "leo"
    assert _ids(leo) == [task["id"]] and _ids(ana) == []
    assert ana.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {}}).status_code == 403
    assert leo.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"aprobada": "Sí"}}).status_code == 200


def test_assignee_variable_requester_falls_back_to_who_started(client: FlaskClient, login: Login) -> None:
    _deploy(client, _assigned_by_variable("requester"))
    ana = login("ana", "solicitante")
    started = ana.post("/api/v1/instances", json={"definition": "approval"}).get_json()
    assert started["ready_tasks"][0]["assignee"] == "ana"
    assert _ids(ana) == [started["ready_tasks"][0]["id"]]


def test_due_date_comes_from_the_tasks_boundary_timer(client: FlaskClient, login: Login, clock: ManualClock) -> None:
    from datetime import datetime, timedelta

    _deploy(client, documents.timer_escalation())
    ana = login("ana", "1er-nivel")
    started = ana.post("/api/v1/instances", json={"definition": "escalation"}).get_json()
    task = ana.get(f"/api/v1/tasks?instance={started['id']}").get_json()["items"][0]
    assert datetime.fromisoformat(task["due_at"]) == clock() + timedelta(hours=1)
    assert _ids(ana, "?overdue=true") == [] and _ids(ana, "?sort=due") == [task["id"]]
    clock.advance(minutes=61)
    assert _ids(ana, "?overdue=true") == [task["id"]]
