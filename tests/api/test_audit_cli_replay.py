"""``cauce audit replay --all``: progress bar, summary with verified/diverged/errored, first divergences."""

from __future__ import annotations

import json
import sys

import pytest
from flask import Flask
from sqlalchemy import text

from api import audit_cli
from api.cli import main as cauce
from tests.api.test_audit_api import histories  # noqa: F401 - the fixture


def _sql(app: Flask, statement: str, **params: object) -> None:
    with app.extensions["cauce_db"].begin() as conn:
        conn.execute(text(statement), params)


def test_replay_all_shows_progress_counts_and_the_first_divergences(
        app: Flask, histories: dict, db_url: str, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CAUCE_DATABASE_URL", db_url)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert cauce(["audit", "replay", "--all"]) == 0
    captured = capsys.readouterr()
    assert "3 instances replayed" in captured.out and "3 verified, 0 diverged, 0 errored" in captured.out
    assert "events/s" in captured.out
    assert "\r[" in captured.err and "3/3" in captured.err and "#" * audit_cli._ProgressBar.WIDTH in captured.err

    done, pair = histories["done"]["id"], histories["pair"]["id"]
    _sql(app, "DELETE FROM events WHERE instance_id = :i AND type = 'task_completed'", i=done)
    cast = "CAST(:p AS jsonb)" if db_url.startswith("postgresql") else ":p"
    _sql(app, f"UPDATE events SET payload = {cast} WHERE instance_id = :i AND seq = 1",
         p=json.dumps({"definition_key": "pair", "definition_version": 1, "called_definitions": {"x": "uno"},
                       "data": {}}), i=pair)
    assert cauce(["audit", "replay", "--all"]) == 1
    captured = capsys.readouterr()
    assert "1 verified, 1 diverged, 1 errored" in captured.out
    assert "(2 not verified)" in captured.err
    lines = [line for line in captured.err.splitlines() if line.startswith(("DIVERGED", "ERRORED"))]
    assert len(lines) == 2
    assert any(line.startswith(f"DIVERGED   {done}  at ") and "expected" in line for line in lines)
    assert any(line.startswith(f"ERRORED    {pair}: ValueError") for line in lines)


def test_only_the_first_divergences_are_listed(app: Flask, histories: dict, db_url: str,  # noqa: F811
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CAUCE_DATABASE_URL", db_url)
    monkeypatch.setattr(audit_cli, "FIRST_DIVERGENCES", 1)
    _sql(app, "DELETE FROM events WHERE type = 'task_completed'")
    assert cauce(["audit", "replay"]) == 1
    captured = capsys.readouterr()
    assert "1 verified, 2 diverged, 0 errored" in captured.out
    assert len([line for line in captured.err.splitlines() if line.startswith("DIVERGED")]) == 1
    assert "and 1 more" in captured.err
    assert "\r[" not in captured.err  # no bar when stderr is not a terminal
