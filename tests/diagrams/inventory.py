"""Count what the diagrams under bpmn/ contain: a progress report and a sanity check in one.

Run ``.venv/bin/python -m tests.diagrams.inventory`` from the repository root. The numbers come
from the XML (not from SpiffWorkflow) so that a file the engine cannot parse is still counted.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from lxml import etree

from tests.diagrams.driver import BPMN_NS, GATEWAY_TAGS, diagram_files, diagram_index, xml_root

TIMER_KINDS = ("timeDuration", "timeDate", "timeCycle")


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) and etree.QName(el).namespace == BPMN_NS else ""


def inventory(files: dict[str, Path] | None = None) -> dict[str, int]:
    """Totals over ``files`` (default: every bpmn/**/*.bpmn).

    ``gateway_flows`` counts the outgoing flows of branching gateways (more than one outgoing
    flow): exactly what the coverage check asks scenarios to take. Timers are counted by kind
    (``timers_timeDuration``, ...) and ``message_events`` counts every event with a
    ``messageEventDefinition`` (start, catch, throw, end, boundary).
    """
    files = diagram_files() if files is None else files
    totals: Counter[str] = Counter(diagrams=len(files))
    for path in files.values():
        root = xml_root(path)
        for el in root.iter():
            name = _local(el)
            if name in GATEWAY_TAGS:
                totals["gateways"] += 1
            elif name == "userTask":
                totals["user_tasks"] += 1
            elif name == "serviceTask":
                totals["service_tasks"] += 1
            elif name == "callActivity":
                totals["call_activities"] += 1
            elif name == "lane":
                totals["lanes"] += 1
            elif name == "messageEventDefinition":
                totals["message_events"] += 1
            elif name == "timerEventDefinition":
                kinds = [_local(c) for c in el if _local(c) in TIMER_KINDS]
                totals[f"timers_{kinds[0] if kinds else 'unknown'}"] += 1
                totals["timers"] += 1
        gateways = diagram_index(path).gateways.values()
        totals["branching_gateways"] += len(gateways)
        totals["gateway_flows"] += sum(len(g.flows) for g in gateways)
    order = ("diagrams", "gateways", "branching_gateways", "gateway_flows", "timers",
             *(f"timers_{k}" for k in TIMER_KINDS), "user_tasks", "service_tasks", "call_activities",
             "message_events", "lanes")
    return {key: totals.get(key, 0) for key in order} | {k: v for k, v in totals.items() if k not in order}


def main() -> None:
    totals = inventory()
    width = max(len(k) for k in totals)
    for key, value in totals.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
