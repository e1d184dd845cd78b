"""`cauce serve`: gunicorn on loopback, with the access log only where CAUCE_ACCESS_LOG says."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from api.cli import db_upgrade
from engine.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get_healthz(port: int) -> int:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                return int(response.status)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_access_log_is_off_by_default_and_written_where_configured(tmp_path: Path) -> None:
    assert Settings().access_log == ""
    url = f"sqlite:///{tmp_path / 'cauce.db'}"
    db_upgrade(Settings(database_url=url))
    log = tmp_path / "access.log"
    port = _free_port()
    env = {**os.environ, "CAUCE_DATABASE_URL": url, "CAUCE_PORT": str(port), "CAUCE_SCHEDULER": "0",
           "CAUCE_ACCESS_LOG": str(log)}
    server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _get_healthz(port) == 200
        deadline = time.monotonic() + 10
        while "GET /healthz" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "GET /healthz" in log.read_text()
    finally:
        server.terminate()
        server.wait(timeout=20)
