"""Tables of cauce. The workflow state is one JSON document per instance; everything a user
queries (instances, human tasks, history) has its own indexed columns so that no query needs to
load a workflow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

JsonType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JsonType, list[Any]: JsonType}


class Definition(Base):
    """One deployed version of one BPMN process. Versions are immutable once deployed."""

    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(500))
    manual_key: Mapped[str | None] = mapped_column(String(200))
    # Deferred: an instance loads its definition row at every step, and needs the XML only when
    # the parsed spec is not cached yet.
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    called_keys: Mapped[list[Any]] = mapped_column(default=list)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deployed_by: Mapped[str | None] = mapped_column(String(200))
    source_name: Mapped[str | None] = mapped_column(String(500))


class Instance(Base):
    """A running or finished execution of a definition version."""

    __tablename__ = "instances"
    __table_args__ = (
        Index("ix_instances_definition_status", "definition_key", "status"),
        Index("ix_instances_business_key", "business_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    definition_version: Mapped[int] = mapped_column(Integer)
    definition_key: Mapped[str] = mapped_column(String(200))
    # Definition ids of the called processes, pinned at start: {process key: definition id}.
    called_definitions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), index=True)
    status_label: Mapped[str | None] = mapped_column(String(100))
    business_key: Mapped[str | None] = mapped_column(String(200))
    requester: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # Bumped by every mutation; lets a reader tell whether what it saw is current.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    last_event_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_event_hash: Mapped[str] = mapped_column(String(64), default="")

    # Not a column: the ready human tasks as the step that returned this object left them, so
    # that a caller can answer without reading them back (None when unknown).
    ready_rows = None

    # Loaded only when asked for: a step needs the definition's id, and its parsed spec is cached.
    definition: Mapped[Definition] = relationship(lazy="select")
    state: Mapped[InstanceState] = relationship(
        back_populates="instance", uselist=False, lazy="select", cascade="all, delete-orphan"
    )


class InstanceState(Base):
    """The serialized live workflow, kept apart so that listing instances never reads it."""

    __tablename__ = "instance_states"

    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), primary_key=True)
    # Plain JSON, not JSONB: it is never queried, JSON is cheaper to write, and it keeps key order.
    state: Mapped[dict[str, Any]] = mapped_column(JSON())
    instance: Mapped[Instance] = relationship(back_populates="state")


class HumanTask(Base):
    """A user task that is or was ready: the inbox reads only this table."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_status_lane", "status", "lane"),
        Index("ix_human_tasks_assignee_status", "assignee", "status"),
        Index("ix_human_tasks_instance", "instance_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the SpiffWorkflow task id
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    definition_key: Mapped[str] = mapped_column(String(200))
    process_key: Mapped[str] = mapped_column(String(200))  # differs inside a called process
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(500))
    lane: Mapped[str | None] = mapped_column(String(200))
    candidate_roles: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20))  # ready | completed | cancelled
    assignee: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(200))
    submitted: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    # Never loaded (lazy="raise"); declared so that a unit of work inserts the instance first.
    instance: Mapped[Instance] = relationship(lazy="raise")


class Event(Base):
    """Append-only history of an instance, hash-chained per instance."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("instance_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str | None] = mapped_column(String(200))
    element_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
