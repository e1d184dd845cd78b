"""Service-level agreements: the clocks kept per instance or task (issue 8).

One row per SLA measurement: "this task must be acknowledged within 15 minutes", "this request
must be answered within 5 días hábiles". The row carries everything a report needs without
reading the definition again (the target that applied, on which calendar, at which level), so the
KPI report and ``GET /api/v1/sla`` are plain indexed queries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import Base, Instance, UTCDateTime

#: A clock's ``state``: ``paused`` while waiting on the requester; ``met``/``breached`` once stopped
#: (``breached`` is also set while still running, at 100 % of the target).
SLA_STATES = ("on_track", "at_risk", "breached", "met", "paused")
SLA_METRICS = ("response", "resolution", "validation")
SLA_SCOPES = ("instance", "task")


class SlaClock(Base):
    """One SLA measured on one instance (``scope='instance'``) or one human task (``'task'``)."""

    __tablename__ = "sla_clocks"
    __table_args__ = (
        # GET /api/v1/sla?state=at_risk, soonest due first.
        Index("ix_sla_clocks_state_due", "state", "due_at"),
        # The scheduler's wake-up query: the earliest threshold still to fire (NULL when none).
        Index("ix_sla_clocks_next_check", "next_check_at"),
        # The clocks of one instance, read by every step of an instance that has SLAs.
        Index("ix_sla_clocks_instance", "instance_id", "sla_name"),
        Index("ix_sla_clocks_task", "task_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    # The process the SLA is defined on (a called process's key when it runs inside another).
    definition_key: Mapped[str] = mapped_column(String(200))
    sla_name: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(20))  # response | resolution | validation
    scope: Mapped[str] = mapped_column(String(20))  # instance | task
    element_id: Mapped[str | None] = mapped_column(String(200))
    task_id: Mapped[str | None] = mapped_column(String(36))
    # The priority or severity the target was chosen by (e.g. "Crítica"), when the SLA has levels.
    level: Mapped[str | None] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(50))  # ISO 8601 duration, as configured
    calendar: Mapped[str] = mapped_column(String(50))
    state: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_threshold: Mapped[int] = mapped_column(Integer, default=0)  # highest percent reached
    paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)  # working seconds spent paused
    # When the next threshold is reached (NULL: stopped, paused, or every threshold passed).
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Never loaded; declared so that a unit of work inserts a new instance before its clocks.
    instance: Mapped[Instance] = relationship(lazy="raise")
