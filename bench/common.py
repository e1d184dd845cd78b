"""Helpers shared by the benchmarks: timing, a temporary database, a table printer."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

Row = tuple[str, str, float, str, str]

PG_URL = os.environ.get("CAUCE_BENCH_DATABASE_URL") or os.environ.get("CAUCE_TEST_DATABASE_URL", "")


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by a process and its live children, or None off Linux.

    On a shared machine the wall-clock rate depends on what else runs; the server's CPU time per
    cycle is the steadier measure of cauce's own cost.
    """
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        pids.append(int(entry))
        total = 0.0
        for p in pids:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        return total
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def sqlite_url() -> Iterator[str]:
    """A fresh, migrated SQLite database file."""
    from api.cli import db_upgrade
    from engine.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db_upgrade(Settings(database_url=url))
        yield url


@contextmanager
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database next to the one in PG_URL."""
    from sqlalchemy import create_engine, text

    from api.cli import db_upgrade
    from engine.settings import Settings

    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"cauce_bench_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + f"/{name}"
    try:
        db_upgrade(Settings(database_url=url))
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def databases() -> list[tuple[str, Callable[[], object]]]:
    """(name, context manager factory) for every database the benchmarks should run on."""
    found: list[tuple[str, Callable[[], object]]] = [("sqlite", sqlite_url)]
    if PG_URL:
        found.append(("postgresql", postgres_url))
    return found


def print_table(rows: list[Row]) -> None:
    header = ("group", "metric", "value", "unit", "goal")
    cells = [header] + [(g, m, f"{v:,.2f}", u, goal) for g, m, v, u, goal in rows]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(str(c).rjust(w) if i == 2 else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                        strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
