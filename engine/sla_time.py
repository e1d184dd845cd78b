"""SLA arithmetic on a calendar: due time, threshold times, pauses. No database, no engine.

A target is an ISO 8601 duration on a named calendar, added with the calendar's own rules, so
"P1D" on ``habil`` is the same office time on the next working day (never 24 working hours) and
"PT15M" on ``24x7`` is 15 real minutes. A threshold (50 %, 75 %) is that share of the *working
time* between the start and the due time: half of "P1D" started Monday 10:00 is four office hours,
Monday 14:00. Time spent paused (waiting on the requester) is measured on the same calendar and
pushes the due time and every later threshold back by as much working time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .calendars import Calendar, Duration


def due_time(calendar: Calendar, started: datetime, target: str) -> datetime:
    """When an SLA of ``target`` started at ``started`` is due (before any pause)."""
    return calendar.add(started, target)


def budget(calendar: Calendar, started: datetime, due: datetime, paused_seconds: float) -> timedelta:
    """The working time the target allows: start to due, less what pauses added to the due time."""
    return calendar.working_time_between(started, due) - timedelta(seconds=paused_seconds)


def consumed(calendar: Calendar, started: datetime, at: datetime, paused_seconds: float) -> timedelta:
    """Working time counted against the SLA at ``at`` (not paused then): pauses do not count."""
    return calendar.working_time_between(started, at) - timedelta(seconds=paused_seconds)


def percent_reached(calendar: Calendar, started: datetime, due: datetime, at: datetime,
                    paused_seconds: float) -> float:
    """How much of the target is used at ``at``, in percent (100 at the due time)."""
    if at >= due:
        return 100.0 if at == due else max(100.0, _ratio(calendar, started, due, at, paused_seconds))
    return _ratio(calendar, started, due, at, paused_seconds)


def _ratio(calendar: Calendar, started: datetime, due: datetime, at: datetime, paused_seconds: float) -> float:
    total = budget(calendar, started, due, paused_seconds).total_seconds()
    if total <= 0:
        return 100.0
    return 100.0 * consumed(calendar, started, at, paused_seconds).total_seconds() / total


def threshold_time(calendar: Calendar, started: datetime, due: datetime, paused_seconds: float,
                   percent: int, now: datetime) -> datetime:
    """When ``percent`` of the target is reached, counting from ``now`` (the clock runs from now on).

    100 % is exactly the due time. Lower thresholds are the start plus that share of the working
    budget, plus the pauses so far; a threshold already passed answers ``now``.
    """
    if percent >= 100:
        return due
    allowed = budget(calendar, started, due, paused_seconds) * percent / 100
    remaining = allowed - consumed(calendar, started, now, paused_seconds)
    if remaining <= timedelta(0):
        return now
    return calendar.add(now, Duration(time=_whole_microseconds(remaining)))


def shift_for_pause(calendar: Calendar, due: datetime, paused_since: datetime,
                    resumed: datetime) -> tuple[datetime, int]:
    """The due time after a pause from ``paused_since`` to ``resumed``, and the working seconds
    the pause lasted (a pause over a weekend on ``habil`` costs nothing and moves nothing)."""
    paused = calendar.working_time_between(paused_since, resumed)
    seconds = int(paused.total_seconds())
    if seconds <= 0:
        return due, 0
    return calendar.add(due, Duration(time=timedelta(seconds=seconds))), seconds


def _whole_microseconds(value: timedelta) -> timedelta:
    return timedelta(microseconds=int(value / timedelta(microseconds=1)))


__all__ = ["budget", "consumed", "due_time", "percent_reached", "shift_for_pause", "threshold_time"]
