"""Handler invocations, retries and incidents (issue 5: the mechanism; see docs/handlers.md).

One :class:`HandlerInvocation` per execution of a service task's handler, keyed by instance and
SpiffWorkflow task (the idempotency key handlers receive), so that a retry after a crash finds
the row it left instead of starting over. An :class:`Incident` is an invocation whose retries ran
out: it stays open, and the instance with it, until an operator retries or resolves it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from . import Base, JsonType, UTCDateTime


class HandlerInvocation(Base):
    """One handler call, inline or async, with its input, outcome and attempts.

    ``status``: ``pending`` (async, waiting for a worker at ``next_attempt_at``) → ``running``
    (claimed until ``lease_until``) → ``succeeded`` | ``business_error`` (outcome recorded, fed to
    the instance at ``applied_at``) | ``failed`` (retries exhausted: an incident) | ``resolved`` (an
    operator supplied the output) | ``cancelled`` (the task was interrupted or the instance ended).
    """

    __tablename__ = "handler_invocations"
    __table_args__ = (
        Index("ix_handler_invocations_status_due", "status", "next_attempt_at"),
        Index("ix_handler_invocations_instance", "instance_id"),
    )

    # "<instance id>/<SpiffWorkflow task id>": stable across retries and crashes.
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    handler: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(10))  # inline | async
    status: Mapped[str] = mapped_column(String(20))
    input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output: Mapped[Any | None] = mapped_column(JsonType, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Incident(Base):
    """An async handler that failed every attempt; the instance waits until it is acted on."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_status_created", "status", "created_at"),
        Index("ix_incidents_instance", "instance_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invocation_key: Mapped[str] = mapped_column(ForeignKey("handler_invocations.key"))
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    definition_key: Mapped[str] = mapped_column(String(200))
    element_id: Mapped[str | None] = mapped_column(String(200))
    handler: Mapped[str] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # open | resolved
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(String(20))  # retried | output
    comment: Mapped[str | None] = mapped_column(Text)
