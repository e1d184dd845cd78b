"""A handler worker in its own process, for the crash test (tests/engine/test_worker_crash.py).

``python -m tests.engine.crash_worker DATABASE_URL WORKDIR NOW`` builds cauce as production does
(built-in handlers, ``folio`` and ``notify`` writing in the step) plus two test handlers, runs one
worker round at ``NOW`` (an ISO time: the test decides when the restarted worker runs), and exits.

* ``fragile`` (async) appends ``<key> <attempt>`` to ``WORKDIR/calls.log``; while
  ``WORKDIR/block_handler`` exists it then writes ``WORKDIR/reached`` and blocks forever: the
  test kills the process in the middle of the handler.
* ``gate`` (inline, after ``folio`` and ``notify`` in the diagram) blocks the same way while
  ``WORKDIR/block_step`` exists: the process dies in the middle of the step's transaction, after
  a folio number was taken and a mail queued in it.
"""

from __future__ import annotations

import os
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.bootstrap import build, step_handler_dependencies
from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from engine.invocations import current_invocation
from engine.settings import Settings
from handlers.registry import register_builtin


def _block_if(flag: Path, workdir: Path) -> None:
    if flag.exists():
        (workdir / "reached").write_text(flag.name)
        threading.Event().wait()  # until SIGKILL


def register_crash_handlers(registry: HandlerRegistry, workdir: Path, settings: Settings) -> None:
    register_builtin(registry, **step_handler_dependencies(settings))

    def fragile(label: str) -> dict[str, Any]:
        context = current_invocation()
        assert context is not None
        with open(workdir / "calls.log", "a") as log:
            log.write(f"{context.key} {context.attempt}\n")
            log.flush()
            os.fsync(log.fileno())
        _block_if(workdir / "block_handler", workdir)
        return {"label": label, "key": context.key}

    def gate() -> str:
        _block_if(workdir / "block_step", workdir)
        return "ok"

    registry.register("fragile", fragile, mode="async", retry={"max_attempts": 3, "base_s": 1.0})
    registry.register("gate", gate)


def main(database_url: str, workdir: str, now: str) -> int:
    settings = Settings(database_url=database_url, scheduler_enabled=False, lock_timeout_s=10.0,
                        files_dir=Path(workdir) / "files")
    registry = HandlerRegistry()
    register_crash_handlers(registry, Path(workdir), settings)
    wiring = build(settings, handlers=registry, clock=ManualClock(datetime.fromisoformat(now)))
    try:
        assert wiring.invocations is not None
        print(wiring.invocations.run_due(), flush=True)
    finally:
        wiring.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
