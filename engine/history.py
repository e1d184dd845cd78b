"""Append-only, hash-chained history of each instance.

Each event's hash covers its content and the previous event's hash (SHA-256 over a canonical
JSON form), so editing, deleting or reordering a stored event breaks the chain from that point.
Events are written by the same unit of work as the state change they describe.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from . import hot_rows
from .models import Event, Instance

# The canonical JSON form docs/audit.md describes: keys sorted, compact, UTF-8 as is. One encoder,
# built once (json.dumps with options builds one per call).
canonical: Callable[[Any], str] = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode


def event_hash(instance_id: str, seq: int, type_: str, at: datetime, actor: str | None,
               element_id: str | None, payload: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 of the event's canonical JSON: its fields and the previous hash, keys sorted."""
    return _hash(instance_id, seq, type_, at, actor, element_id, canonical(payload), prev_hash)


_encode_text = json.JSONEncoder(ensure_ascii=False).encode


def _text(value: str | None) -> str:
    """``value`` as canonical() writes it inside an object. Ids, names and times need no escaping,
    so they skip the encoder; anything with a quote, a backslash or a control character takes it."""
    if value is None:
        return "null"
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return _encode_text(value)


def _hash(instance_id: str, seq: int, type_: str, at: datetime, actor: str | None, element_id: str | None,
          payload_text: str, prev_hash: str) -> str:
    """:func:`event_hash` from the payload's canonical text, which a step has already made: the
    body is the canonical form of the whole event, written out in its sorted key order."""
    body = (
        f'{{"actor":{_text(actor)},"at":{_text(at.isoformat())},"element_id":{_text(element_id)},'
        f'"instance_id":{_text(instance_id)},"payload":{payload_text},"prev_hash":{_text(prev_hash)},'
        f'"seq":{int(seq)},"type":{_text(type_)}}}'
    )
    return hashlib.sha256(body.encode()).hexdigest()


_PENDING = "cauce_pending_events"
_INSERT = insert(Event.__table__)


def append(session: Session, instance: Instance, type_: str, *, at: datetime, actor: str | None = None,
           element_id: str | None = None, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Queue the next event of ``instance`` (whose row the caller holds locked).

    Events are written by :func:`write_pending` in one multi-row INSERT just before the unit of
    work commits: a step writes several, and ORM objects for each cost more than the step.
    """
    payload_text = canonical(payload or {})
    payload = json.loads(payload_text)  # as it will read back: plain JSON types
    at = at.astimezone(UTC)  # hashed as stored (UTC): a clock in another zone must not break verification
    seq = instance.last_event_seq + 1
    prev = instance.last_event_hash
    digest = _hash(instance.id, seq, type_, at, actor, element_id, payload_text, prev)
    row = {"instance_id": instance.id, "seq": seq, "type": type_, "at": at, "actor": actor,
           "element_id": element_id, "payload": payload, "prev_hash": prev, "hash": digest}
    session.info.setdefault(_PENDING, []).append(row)
    instance.last_event_seq = seq
    instance.last_event_hash = digest
    return row


def write_pending(session: Session) -> int:
    """Flush the unit of work and insert its queued events; call right before ``commit``."""
    hot_rows.flush(session)  # the instance row an event references must exist first
    rows = session.info.pop(_PENDING, [])
    if rows:
        # Core executemany on the table: one statement for all rows (the ORM bulk path splits
        # them by which columns are None).
        session.connection().execute(_INSERT, rows)
    return len(rows)
