"""One test per scenario of tests/diagrams/scenarios/*.yaml, driven by :mod:`tests.diagrams.driver`.

The test id is ``<KEY>::<scenario name>`` so that a failure names the diagram and the story the
process owner recognises. Results are cached per process (``cached_outcome``), so the gateway
coverage check in the same worker does not run a scenario twice.
"""

from __future__ import annotations

import pytest

from tests.diagrams.driver import all_scenario_ids, cached_outcome

SCENARIOS = all_scenario_ids()


@pytest.mark.parametrize(
    ("key", "index"),
    [pytest.param(key, index, id=f"{key}::{name}") for key, index, name in SCENARIOS],
)
def test_scenario(key: str, index: int) -> None:
    outcome = cached_outcome(key, index)
    if outcome.error is not None:
        pytest.fail(f"{key} :: {outcome.result.name}: {outcome.error}", pytrace=False)
