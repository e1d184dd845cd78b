"""Start + complete cycles through the HTTP API of a real server on loopback, against bare SpiffWorkflow.

The server is ``cauce serve`` (gunicorn, one process, the scheduler on) on a fresh SQLite file.
One client keeps a connection open and does, per cycle: ``POST /api/v1/instances`` then
``POST /api/v1/tasks/{id}/complete``. The floor is the same cycle on SpiffWorkflow alone, in
memory, without parsing or persistence (with engine/spiff_speedups.py in effect, as in the
server). The cycles run in three rounds, each followed by a round of the floor: this machine's
speed drifts by up to 2x over minutes, and the ratio of two numbers taken in the same seconds
tells a change of cauce's cost from a change of the machine. Requests carry the bearer token of a user created through
the engine (process owner and Mesa de Servicio). The 1st-vs-500th ratio drives one instance of a loop
through 490 completions over HTTP, then compares its completions 491–510 with a fresh instance's
1–20, taken alternately so that the machine's drifting speed affects both alike.

On a shared machine the cycles per second depend on what else runs, so the table also gives the
server's CPU time per cycle and the load average of the minute the cycles ran in.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import Row, median, process_cpu_s, sqlite_url, timed

ROOT = Path(__file__).resolve().parents[1]
CYCLES = int(os.environ.get("CAUCE_BENCH_CYCLES", "300"))
ROUNDS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _user_token(url: str) -> str:
    """A user who may deploy and work the approval diagram's lane, created through the engine."""
    from engine.bootstrap import build
    from engine.settings import Settings

    wiring = build(Settings(database_url=url, scheduler_enabled=False))
    try:
        return wiring.identity.create_user("bench", ["process-owner", "Mesa de Servicio"])[1]
    finally:
        wiring.db.dispose()


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.auth = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: object | None = None, *, raw: bytes | None = None,
             content_type: str = "application/json") -> dict:
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {**self.auth, **({"Content-Type": content_type} if payload is not None else {})}
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path} -> {response.status}: {data[:300]!r}")
        return json.loads(data)


def _serve(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CAUCE_DATABASE_URL": url, "CAUCE_PORT": str(port), "CAUCE_HOST": "127.0.0.1"}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--workers", "1", "--threads", "4"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def bare_spiff_cycle() -> Callable[[], None]:
    """One cycle on SpiffWorkflow alone, the floor cauce is measured against (spec parsed once)."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    from tests.engine.documents import approval

    parser = SpiffBpmnParser()
    parser.add_bpmn_str(approval(form=False).encode())
    spec = parser.get_spec("approval")

    def cycle() -> None:
        workflow = BpmnWorkflow(spec)
        workflow.do_engine_steps()
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data["aprobada"] = "Sí"
        task.run()
        workflow.do_engine_steps()
        assert workflow.is_completed()

    for _ in range(20):
        cycle()
    return cycle


def run() -> list[Row]:
    from tests.engine.documents import approval
    from tests.engine.loop_shapes import PLAIN

    rows: list[Row] = []
    with sqlite_url() as url:
        token = _user_token(url)
        port = _free_port()
        server = _serve(url, port)
        try:
            client = Client(port, token)
            client.call("POST", "/api/v1/definitions", raw=approval().encode(), content_type="application/xml")
            client.call("POST", "/api/v1/definitions", raw=PLAIN.encode(), content_type="application/xml")

            def cycle() -> None:
                started = client.call("POST", "/api/v1/instances", {"definition": "approval"})
                task_id = started["ready_tasks"][0]["id"]
                done = client.call("POST", f"/api/v1/tasks/{task_id}/complete", {"data": {"aprobada": "Sí"}})
                assert done["status"] == "completed"

            for _ in range(20):
                cycle()
            starts = CYCLES / timed(lambda: [client.call("POST", "/api/v1/instances", {"definition": "approval"})
                                             for _ in range(CYCLES)])
            # The machine's speed drifts (up to 2x over minutes on a shared host): batches of HTTP
            # cycles alternate with batches of the bare floor, so that their ratio compares
            # numbers taken in the same seconds.
            floor_cycle = bare_spiff_cycle()
            per_round = max(CYCLES // ROUNDS, 1)
            rates, floors, cpu_s = [], [], 0.0
            for _ in range(ROUNDS):
                cpu_before = process_cpu_s(server.pid)
                rates.append(per_round / timed(lambda: [cycle() for _ in range(per_round)]))
                cpu_after = process_cpu_s(server.pid)
                if cpu_before is not None and cpu_after is not None:
                    cpu_s += cpu_after - cpu_before
                floors.append(per_round / timed(lambda: [floor_cycle() for _ in range(per_round)]))
            load = os.getloadavg()[0]  # the last minute: mostly the cycles just timed

            def complete_next(instance_id: str) -> float:
                task_id = client.call("GET", f"/api/v1/instances/{instance_id}")["ready_tasks"][0]["id"]
                return timed(lambda: client.call("POST", f"/api/v1/tasks/{task_id}/complete", {"data": {}}))

            old = client.call("POST", "/api/v1/instances", {"definition": "plain", "data": {"limit": 10_000}})["id"]
            for _ in range(490):
                complete_next(old)
            # The machine's speed drifts: a fresh instance's completions 1-20 alternate with the old
            # one's 491-510, so both medians come from the same seconds.
            fresh = client.call("POST", "/api/v1/instances", {"definition": "plain", "data": {"limit": 10_000}})["id"]
            firsts, lates = [], []
            for _ in range(20):
                firsts.append(complete_next(fresh))
                lates.append(complete_next(old))
        finally:
            server.terminate()
            server.wait(timeout=10)
    first, late = median(firsts), median(lates)
    rows += [
        ("http sqlite", "instances started", starts, "/s", ""),
        ("http sqlite", f"start+complete cycles (median of {ROUNDS} rounds)", median(rates), "/s", ">= 80"),
        ("http sqlite", "start+complete cycles, slowest round", min(rates), "/s", ""),
        ("http sqlite", "start+complete cycles, fastest round", max(rates), "/s", ""),
        ("bare spiff", "start+complete cycles (memory, no parse), between the rounds", median(floors), "/s", "floor"),
        ("http sqlite", "cycles as a share of bare SpiffWorkflow's (median of the rounds)",
         median([100 * r / f for r, f in zip(rates, floors, strict=True)]), "%", ""),
    ]
    if cpu_s:
        rows.append(("http sqlite", "server CPU per cycle (steadier on a busy machine)",
                     cpu_s / (per_round * ROUNDS) * 1000, "ms", ""))
    rows += [
        ("http sqlite", "machine load average while cycling (2 vCPU: > 2 is contended)", load, "", ""),
        ("http sqlite", "loop completion #1-20 median", first * 1000, "ms", ""),
        ("http sqlite", "loop completion #491-510 median", late * 1000, "ms", ""),
        ("http sqlite", "500th vs 1st completion", late / first, "x", "<= 1.5"),
    ]
    return rows


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run())
