"""Tables of cauce. The workflow state is one JSON document per instance; everything a user
queries (instances, human tasks, history) has its own indexed columns so that no query needs to
load a workflow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

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


#: Separates the role names in ``HumanTask.audience`` (a control character no role name holds).
AUDIENCE_SEPARATOR = "\x1f"
#: The rows the inbox's ``open`` indexes hold: ready tasks nobody has claimed.
OPEN_TASK = text("status = 'ready' AND assignee IS NULL")
OPEN_TASK_INDEXES = {
    "ix_human_tasks_open_created": ("audience", "created_at", "id", "priority_rank", "due_at", "sla_state",
                                    "definition_key"),
    "ix_human_tasks_open_due": ("audience", "due_missing", "due_at", "created_at", "id", "priority_rank", "sla_state",
                                "definition_key"),
    "ix_human_tasks_open_priority": ("audience", "priority_rank", "due_missing", "due_at", "created_at", "id",
                                     "sla_state", "definition_key"),
}
DUE_MISSING = "CASE WHEN due_at IS NULL THEN 1 ELSE 0 END"
PRIORITY_RANK = ("CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 "
                 "WHEN 'low' THEN 3 ELSE 4 END")


def audience_of(lane: str | None, candidate_roles: list[Any] | None) -> str:
    """The value of ``HumanTask.audience`` for a lane and candidate roles."""
    return AUDIENCE_SEPARATOR.join(sorted({r for r in (lane, *(candidate_roles or ())) if r}))


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
        Index("ix_instances_status_label", "status_label"),  # GET /instances?status_label= (migration 0003)
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
    # The serialized live workflow (engine/state.py). Deferred: listing instances never reads it;
    # a step reads it with the statement that locks the row (engine/service.py). Always written
    # with the row; nullable only because SQLite cannot add a NOT NULL column to a table others
    # reference without rebuilding it (migration 0008). Plain JSON, not JSONB: it is never
    # queried, JSON is cheaper to write, and it keeps key order.
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON(), deferred=True)

    # Not a column: the ready human tasks as the step that returned this object left them, so
    # that a caller can answer without reading them back (None when unknown).
    ready_rows = None

    # Loaded only when asked for: a step needs the definition's id, and its parsed spec is cached.
    definition: Mapped[Definition] = relationship(lazy="select")


class HumanTask(Base):
    """A user task that is or was ready: the inbox reads only this table.

    The inbox of unassigned tasks is keyed by ``audience``: the roles that may take the task (its
    lane and candidate roles) as one value, so that "unassigned tasks of my roles" is a few equality
    ranges of one index, each already in the order the inbox sorts by (``engine/inbox.py``).
    ``audience`` follows ``lane`` and ``candidate_roles`` whenever either is assigned through the
    ORM; ``priority_rank`` and ``due_missing`` are computed by the database, so no write path can
    leave them stale.
    """

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_status_lane", "status", "lane"),
        Index("ix_human_tasks_assignee_status", "assignee", "status"),
        Index("ix_human_tasks_instance", "instance_id", "status"),
        # The caller's own tasks (engine/inbox.py), read from the index alone.
        Index("ix_human_tasks_inbox_assignee", "assignee", "status", "created_at", "due_at"),
        # Unassigned ready tasks, one index per inbox sort (migration 0007): a branch of the inbox
        # reads one audience's entries in sort order and stops after the page. The trailing
        # columns are the inbox's filters, checked in the index instead of in the table's rows.
        *(Index(name, *columns, sqlite_where=OPEN_TASK, postgresql_where=OPEN_TASK)
          for name, columns in OPEN_TASK_INDEXES.items()),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the SpiffWorkflow task id
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    definition_key: Mapped[str] = mapped_column(String(200))
    process_key: Mapped[str] = mapped_column(String(200))  # differs inside a called process
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(500))
    lane: Mapped[str | None] = mapped_column(String(200))
    candidate_roles: Mapped[list[Any]] = mapped_column(default=list)
    # The lane and candidate roles, sorted, joined by AUDIENCE_SEPARATOR; "" for a task in no lane
    # and with no candidate roles (open to all staff).
    audience: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    status: Mapped[str] = mapped_column(String(20))  # ready | completed | cancelled
    assignee: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # 1 when the task has no due date: sorting by (due_missing, due_at) puts those last on every
    # backend (SQLite sorts NULL first, PostgreSQL last) and an index delivers that order.
    due_missing: Mapped[int] = mapped_column(Integer, Computed(DUE_MISSING, persisted=True))
    # critical | high | medium | low (engine/priorities.py), or null; priority_rank is its sort
    # key, 0 for critical to 4 for none.
    priority: Mapped[str | None] = mapped_column(String(20))
    priority_rank: Mapped[int] = mapped_column(Integer, Computed(PRIORITY_RANK, persisted=True))
    # on_track | at_risk | breached | met | paused, written by the SLA clocks (engine/sla.py) for
    # a task that one of them measures; null when none does.
    sla_state: Mapped[str | None] = mapped_column(String(20))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(200))
    submitted: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    # Never loaded (lazy="raise"); declared so that a unit of work inserts the instance first.
    instance: Mapped[Instance] = relationship(lazy="raise")

    @validates("lane", "candidate_roles")
    def _keep_audience(self, key: str, value: Any) -> Any:
        lane = value if key == "lane" else self.lane
        candidates = value if key == "candidate_roles" else self.candidate_roles
        self.audience = audience_of(lane, candidates)
        return value


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


# -- identity: users, roles, tokens (migration 0002) ----------------------------------------

user_roles = Table(
    "user_roles", Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id"), primary_key=True),
)


class Role(Base):
    """A responsible role of the manual (``staff``: lane names) or a system role of cauce.

    ``name`` is written exactly as the manual writes it, because lanes are matched by name; ``id``
    is the stable ASCII slug that commands and the API accept too.
    """

    __tablename__ = "roles"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # staff | system


class User(Base):
    """A person (or client) who calls the API; tasks are assigned by ``name``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    # Where the person works (a building, an office); assign_by_workload matches it with the
    # request's location, ignoring case, accents and spacing.
    location: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin", order_by=Role.id)


class ApiToken(Base):
    """A bearer token, stored only as its SHA-256: a leaked table does not leak credentials."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TaskCandidate(Base):
    """A role besides the lane's that may work a task (``candidateRoles``), one row per role, so
    that the inbox finds them with an index instead of searching JSON."""

    __tablename__ = "task_candidates"
    __table_args__ = (Index("ix_task_candidates_role", "role", "task_id"),)

    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(200), primary_key=True)
    # Never loaded; declared so that a unit of work inserts the task row first.
    task: Mapped[HumanTask] = relationship(lazy="raise")


class TaskComment(Base):
    """A note on a human task, shown to whoever works it next."""

    __tablename__ = "task_comments"
    __table_args__ = (Index("ix_task_comments_task", "task_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id"))
    author: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- folios and the mail outbox (migration 0003) ----------------------------------------------


class FolioCounter(Base):
    """The last folio number issued per series and year (see :mod:`engine.folios`)."""

    __tablename__ = "folio_counters"

    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class OutboxMessage(Base):
    """An e-mail a step decided to send, written in the step's transaction and sent later by the
    dispatcher (:mod:`engine.outbox`), so that a rolled-back step sends nothing and a slow mail
    server never holds an instance lock.

    ``status``: ``pending`` → ``sending`` (claimed by a dispatcher) → ``sent`` | ``failed``; or
    ``no_recipients`` when nobody could be resolved (kept so that the gap is visible).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # instance id / SpiffWorkflow task id: one mail per service-task execution, whatever retries.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    element_id: Mapped[str | None] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(String(200))
    recipient_spec: Mapped[str] = mapped_column(String(500))  # the diagram's ``to``
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[str | None] = mapped_column(String(300))


# Tables of the later issues live in their own modules; importing them here registers them
# on Base.metadata, which Alembic and the tests read.
from . import files, invocations, sla  # noqa: E402, F401
