"""Replay verifies every instance the test suite produces (a pytest plugin).

Issue 6 is done when "replay verifies every instance produced by the test suite". After each
test that used a database (the ``db_url`` fixture, directly or through ``wiring``/``app``/
``client``), this replays every instance left in it, with a fresh runtime and fresh parsed specs
as ``cauce audit replay`` in a new process would, and fails the test if one diverges or cannot
be replayed. So every history any test writes (any diagram, any path, any handler outcome) is
also a replay test, and a change to the engine that replay does not follow fails at once.

Instances whose hash chain no longer verifies are left out: tests that tamper with the record on
purpose (raw SQL on ``events``) break the chain, and replay's answer to a broken record is their
own subject. A test that changes a verified record in another way on purpose marks itself
``@pytest.mark.replay_diverges``. ``CAUCE_TEST_REPLAY=0`` turns the check off (e.g. to profile).

Registered in ``tests/conftest.py`` (``pytest_plugins``), or with ``-p tests.replay_check``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

ENABLED = os.environ.get("CAUCE_TEST_REPLAY", "1") != "0"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "replay_diverges: the test leaves a verified history that replay must not "
                                       "verify; the suite-wide replay check skips it")


@pytest.fixture(autouse=True)
def _replay_every_instance(request: pytest.FixtureRequest) -> Iterator[None]:
    if not ENABLED or "db_url" not in request.fixturenames or request.node.get_closest_marker("replay_diverges"):
        yield
        return
    db_url: str = request.getfixturevalue("db_url")
    yield
    if getattr(request.node, "_cauce_failed", False):
        return  # the test already failed: its half-written histories would only add noise
    problems = replay_all(db_url)
    assert not problems, "replay does not verify instances this test produced:\n" + "\n".join(problems)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item._cauce_failed = True  # type: ignore[attr-defined]


def replay_all(db_url: str) -> list[str]:
    """Replay every instance of the database whose chain verifies; one line per problem."""
    from sqlalchemy import select

    from engine.audit import verify_chains
    from engine.db import make_engine, make_session_factories
    from engine.models import Instance
    from engine.replay import replay_many
    from engine.runtime import WorkflowRuntime
    from engine.specs import SpecStore

    engine = make_engine(db_url, lock_timeout_s=5.0)
    try:
        readers, _ = make_session_factories(engine)
        with readers() as session:
            broken = {p.instance_id for p in verify_chains(session).problems}
        with readers() as session:
            ids = [i for i in session.scalars(select(Instance.id).order_by(Instance.started_at, Instance.id))
                   if i not in broken]
            runtime = WorkflowRuntime()
            problems = []
            for result in replay_many(session, ids, runtime=runtime, specs=SpecStore(runtime)):
                if result.status == "verified":
                    continue
                if result.error is not None:
                    problems.append(f"{result.instance_id}: replay failed: {result.error}")
                else:
                    d = result.divergence
                    assert d is not None
                    problems.append(f"{result.instance_id}: diverged at event {d.seq} ({d.event_type}): expected "
                                    f"{d.expected!r}, found {d.found!r}; {d.message}")
            return problems
    finally:
        engine.dispose()
