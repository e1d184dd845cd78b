"""``python -m bench``: run every benchmark and print one table."""

from __future__ import annotations

import importlib
import sys
import time

from bench.common import PG_URL, Row, print_table

MODULES = ["bench.http_cycle", "bench.loops", "bench.timers", "bench.inbox", "bench.replay"]


def main() -> int:
    rows: list[Row] = []
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            print(f"skipping {name}: {exc}", file=sys.stderr)
            continue
        started = time.monotonic()
        print(f"running {name} …", file=sys.stderr, flush=True)
        rows += module.run()
        print(f"  done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    if not PG_URL:
        print("PostgreSQL rows need CAUCE_BENCH_DATABASE_URL (or CAUCE_TEST_DATABASE_URL).", file=sys.stderr)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
