"""Event logs for process mining, derived from the hash-chained history: CSV and XES (IEEE 1849).

Process-mining tools (ProM, pm4py, Disco, Celonis) want one row per activity occurrence with a
case id, an activity, a timestamp, a resource and a lifecycle transition. The history records
more than that (engine internals, hashes, payloads), so this module maps it:

* ``task_ready`` of a user task -> ``start`` of that activity (it became workable);
* ``element_completed`` of any element but a gateway -> ``complete``, with the actor that caused
  the step as resource (the user who completed the task, ``scheduler`` for a timer).

Gateways are routing, not work, and would only add noise to a discovered model. Instances are
selected by definition key and by when they *started*, so a case is exported whole or not at all
(a case cut at the range boundary would look like a deviating process). Rows are produced as a
stream from the database so that a large export does not sit in memory.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import quoteattr

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Definition, Event, Instance

START = "start"
COMPLETE = "complete"
_ROWS_PER_FETCH = 1000
CSV_COLUMNS = ["case_id", "activity", "timestamp", "resource", "lifecycle_transition", "element_id",
               "definition_key", "definition_version", "event_seq"]
# Characters XML 1.0 cannot carry at all, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class LogEntry:
    """One activity occurrence of one case, as process-mining tools understand it."""

    case_id: str
    activity: str
    timestamp: datetime
    resource: str | None
    lifecycle: str
    element_id: str
    definition_key: str
    definition_version: int
    seq: int


def event_log(session: Session, *, definition: str | None = None, started_from: datetime | None = None,
              started_to: datetime | None = None) -> Iterator[LogEntry]:
    """The activity occurrences of the selected instances, case by case, in recorded order.

    ``started_from`` is inclusive and ``started_to`` exclusive, both on the instance's start time.
    """
    query = (select(Event, Instance.definition_key, Definition.version)
             .join(Instance, Event.instance_id == Instance.id)
             .join(Definition, Instance.definition_id == Definition.id)
             .where(Event.type.in_(["task_ready", "element_completed"])))
    if definition:
        query = query.where(Instance.definition_key == definition)
    if started_from is not None:
        query = query.where(Instance.started_at >= started_from)
    if started_to is not None:
        query = query.where(Instance.started_at < started_to)
    query = query.order_by(Instance.started_at, Instance.id, Event.seq).execution_options(yield_per=_ROWS_PER_FETCH)
    for event, key, version in session.execute(query):
        entry = _entry(event, key, version)
        if entry is not None:
            yield entry


def _entry(event: Event, definition_key: str, version: int) -> LogEntry | None:
    payload: dict[str, Any] = event.payload or {}
    if event.element_id is None:
        return None
    if event.type == "task_ready":
        lifecycle, resource = START, None
    elif "Gateway" in str(payload.get("type", "")):
        return None
    else:
        lifecycle, resource = COMPLETE, event.actor
    name = " ".join(str(payload.get("name") or "").split())
    return LogEntry(case_id=event.instance_id, activity=name or event.element_id, timestamp=event.at,
                    resource=resource, lifecycle=lifecycle, element_id=event.element_id,
                    definition_key=definition_key, definition_version=version, seq=event.seq)


def _time(moment: datetime) -> str:
    """ISO 8601 with milliseconds and an explicit offset, the form XES tools and spreadsheets parse."""
    return moment.isoformat(timespec="milliseconds")


def to_csv(entries: Iterator[LogEntry]) -> Iterator[str]:
    """CSV with a header row, in chunks of text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for count, e in enumerate(entries, start=1):
        writer.writerow([e.case_id, e.activity, _time(e.timestamp), e.resource or "", e.lifecycle, e.element_id,
                         e.definition_key, e.definition_version, e.seq])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _attr(kind: str, key: str, value: object) -> str:
    return f"<{kind} key={quoteattr(key)} value={quoteattr(_XML_INVALID.sub('', str(value)))}/>"


# The standard extensions of IEEE 1849-2016 the log uses, by prefix.
XES_EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
)


def to_xes(entries: Iterator[LogEntry], *, log_name: str = "cauce event log") -> Iterator[str]:
    """An XES document (IEEE 1849-2016), one ``trace`` per case, in chunks of text.

    The root is in no namespace because the standard's XML Schema declares no target namespace;
    that is also what ProM and pm4py read. Globals declare the attributes every event carries,
    and the classifiers name them, as the standard requires of classifier keys.
    """
    head = ['<?xml version="1.0" encoding="UTF-8"?>', '<log xes.version="2.0">']
    head += [f"  <extension name={quoteattr(n)} prefix={quoteattr(p)} uri={quoteattr(u)}/>"
             for n, p, u in XES_EXTENSIONS]
    head += ['  <global scope="trace">', "    " + _attr("string", "concept:name", "UNKNOWN"), "  </global>",
             '  <global scope="event">', "    " + _attr("string", "concept:name", "UNKNOWN"),
             "    " + _attr("string", "lifecycle:transition", COMPLETE),
             "    " + _attr("date", "time:timestamp", "1970-01-01T00:00:00.000+00:00"), "  </global>",
             '  <classifier name="Activity" scope="event" keys="concept:name"/>',
             '  <classifier name="ActivityLifecycle" scope="event" keys="concept:name lifecycle:transition"/>',
             "  " + _attr("string", "concept:name", log_name),
             "  " + _attr("string", "lifecycle:model", "standard")]
    yield "\n".join(head) + "\n"
    case: str | None = None
    chunk: list[str] = []
    for e in entries:
        if e.case_id != case:
            if case is not None:
                chunk.append("  </trace>")
                yield "\n".join(chunk) + "\n"
                chunk = []
            case = e.case_id
            chunk += ["  <trace>", "    " + _attr("string", "concept:name", e.case_id),
                      "    " + _attr("string", "definition_key", e.definition_key),
                      "    " + _attr("int", "definition_version", e.definition_version)]
        chunk += ["    <event>", "      " + _attr("string", "concept:name", e.activity),
                  "      " + _attr("string", "lifecycle:transition", e.lifecycle),
                  "      " + _attr("date", "time:timestamp", _time(e.timestamp))]
        if e.resource:
            chunk.append("      " + _attr("string", "org:resource", e.resource))
        chunk += ["      " + _attr("string", "element_id", e.element_id),
                  "      " + _attr("int", "event_seq", e.seq), "    </event>"]
    if case is not None:
        chunk.append("  </trace>")
    chunk.append("</log>")
    yield "\n".join(chunk) + "\n"
