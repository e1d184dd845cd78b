"""Every outgoing flow of every branching gateway is taken by some passing scenario.

BRIEF.md requires it: a branch no scenario takes is a branch nobody has seen run, and with gateway
conditions written as Python a typo in one only shows when an instance reaches it. Flows taken
inside a called process count for the callee's diagram too. Only scenarios that pass count: a
failing scenario proves nothing about the branches it went through.
"""

from __future__ import annotations

from tests.diagrams.driver import (
    all_scenario_ids,
    cached_outcome,
    diagram_files,
    diagram_index,
    scenario_file,
)


def test_every_diagram_has_scenarios() -> None:
    missing = sorted(key for key in diagram_files() if not scenario_file(key).exists())
    assert not missing, "diagrams without tests/diagrams/scenarios/<KEY>.yaml:\n  " + "\n  ".join(missing)


def test_every_gateway_flow_is_taken() -> None:
    taken: set[tuple[str, str, str]] = set()
    failing: list[str] = []
    for key, index, name in all_scenario_ids():
        outcome = cached_outcome(key, index)
        if outcome.error is None:
            taken |= outcome.result.taken
        else:
            failing.append(f"{key}::{name}")
    never = [
        (key, gateway.id, flow)
        for key, path in sorted(diagram_files().items())
        for gateway in diagram_index(path).gateways.values()
        for flow in gateway.flows
        if (key, gateway.id, flow) not in taken
    ]
    message = "gateway flows no passing scenario takes (diagram, gateway, flow):\n  " + "\n  ".join(
        f"{k}  {g}  {f}" for k, g, f in never
    )
    if failing:
        message += "\n(failing scenarios, not counted: " + ", ".join(failing) + ")"
    assert not never, message
