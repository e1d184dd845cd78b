"""The inbox under load: ``GET /api/v1/tasks`` with 100,000 open tasks across 10,000 instances.

The rows are bulk-inserted straight into the tables (starting 10,000 instances through the engine
would measure the engine, not the inbox): ten ready tasks per instance, spread over 20 lanes of the
manual, one in ten with a candidate role, one in twenty assigned to someone, a fifth each critical,
high, medium, low and without priority. The caller holds two staff roles and sees 10,000 tasks:
half in a lane of theirs, half through a candidate role. Each request goes through the whole Flask app
(authentication, the permission table, the query, the page's instances, definitions and forms, JSON);
p95 over 200 requests per query shape. SQLite always; PostgreSQL when configured.
"""

from __future__ import annotations

import os
import statistics
import uuid
from datetime import UTC, datetime, timedelta

from bench.common import Row, databases, timed

TASKS = int(os.environ.get("CAUCE_BENCH_INBOX_TASKS", "100000"))
PER_INSTANCE = 10
REQUESTS = 200


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def _fill(wiring, roles: list[str]) -> None:  # noqa: ANN001 - Wiring
    from sqlalchemy import insert

    from engine.models import HumanTask, Instance, TaskCandidate, audience_of
    from engine.priorities import LEVELS
    from tests.engine.documents import approval

    definition = wiring.service.deploy(approval().encode()).definition
    start = datetime(2026, 1, 1, tzinfo=UTC)
    instances, tasks, candidates = [], [], []
    for n in range(TASKS // PER_INSTANCE):
        instance_id = str(uuid.uuid4())
        at = start + timedelta(seconds=n)
        instances.append({
            "id": instance_id, "definition_id": definition.id, "definition_version": 1,
            "definition_key": "approval", "called_definitions": {}, "status": "running",
            "business_key": f"SOL-{n}", "requester": "bench", "started_at": at, "updated_at": at, "data": {},
            "revision": 1, "last_event_seq": 0, "last_event_hash": ""})
        for k in range(PER_INSTANCE):
            task_id = str(uuid.uuid4())
            i = n * PER_INSTANCE + k
            lane = roles[i % len(roles)]
            candidate_roles = [roles[(i + 7) % len(roles)]] if i % 10 == 3 else []
            tasks.append({
                "id": task_id, "instance_id": instance_id, "definition_key": "approval", "process_key": "approval",
                "element_id": "Task_review", "name": "1. Revisar la solicitud", "lane": lane,
                "candidate_roles": candidate_roles, "status": "ready",
                "assignee": f"user{i % 50}" if i % 20 == 0 else None, "created_at": at + timedelta(milliseconds=k),
                "due_at": at + timedelta(days=3) if i % 4 == 0 else None,
                "priority": (*LEVELS, None)[(i // 3) % 5], "audience": audience_of(lane, candidate_roles)})
            if i % 10 == 3:
                candidates.append({"task_id": task_id, "role": roles[(i + 7) % len(roles)]})
    with wiring.service.uow.write() as session:
        for table, rows in ((Instance, instances), (HumanTask, tasks), (TaskCandidate, candidates)):
            for chunk in range(0, len(rows), 5000):
                session.execute(insert(table), rows[chunk:chunk + 5000])
        session.commit()
    # Planner statistics and PostgreSQL's visibility map (which lets it answer from an index alone),
    # as autovacuum keeps them after a bulk insert (PostgreSQL) or a periodic ANALYZE (SQLite).
    postgresql = wiring.db.dialect.name == "postgresql"
    with wiring.db.connect() as conn:
        if postgresql:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
        conn.exec_driver_sql("VACUUM ANALYZE" if postgresql else "ANALYZE")
        conn.commit()


def run() -> list[Row]:
    from api import create_app
    from engine.bootstrap import build
    from engine.settings import Settings

    rows: list[Row] = []
    for db_name, database in databases():
        with database() as url:
            settings = Settings(database_url=url, scheduler_enabled=False)
            wiring = build(settings)
            try:
                staff = [r.name for r in wiring.identity.catalog.roles if r.kind == "staff"][:20]
                _fill(wiring, staff)
                token = wiring.identity.create_user("bench", [staff[0], staff[1]])[1]
            finally:
                wiring.db.dispose()
            app = create_app(settings, scheduler=False)
            try:
                client = app.test_client()
                client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
                shapes = {
                    "my inbox (page 1 of 50)": "/api/v1/tasks",
                    "my inbox sorted by due date": "/api/v1/tasks?sort=due",
                    "my inbox sorted by priority": "/api/v1/tasks?sort=priority",
                    "my inbox, page 20": "/api/v1/tasks?page=20",
                    "unassigned of one role": f"/api/v1/tasks?assignee=none&role={staff[1]}",
                    "critical ones, newest first": "/api/v1/tasks?priority=critical&sort=-created",
                }
                total = client.get("/api/v1/tasks").get_json()["total"]
                for label, path in shapes.items():
                    for _ in range(10):
                        assert client.get(path).status_code == 200
                    durations = [timed(lambda path=path, client=client: client.get(path)) for _ in range(REQUESTS)]
                    rows.append((f"inbox {db_name}", f"{label}: p95", _p95(durations) * 1000, "ms", "< 50"))
                rows.append((f"inbox {db_name}", f"tasks visible to the user (of {TASKS:,})", total, "", ""))
            finally:
                app.extensions["cauce_db"].dispose()
    return rows


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run())
