"""folio through the engine: unique and gap-free per series and year, under concurrency, on each database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.folios import next_folio_number
from engine.handler_registry import HandlerRegistry
from handlers import folio as folio_handler
from handlers.folio import parse_folio
from tests.engine.step_documents import service_steps


def _register(handlers: HandlerRegistry) -> None:
    handlers.register("folio", folio_handler.make_folio(next_folio_number), input_schema=folio_handler.Input())


def _deploy(wiring: Wiring) -> None:
    wiring.service.deploy(service_steps("con_folio", [
        ("folio", "ticket", {"series": "serie"}),
        ("folio", "solicitud", {"series": "'SOL'"}),
    ]).encode())


def test_folios_count_per_series_and_restart_each_year(wiring: Wiring, handlers: HandlerRegistry,
                                                       clock: ManualClock) -> None:
    _register(handlers)
    _deploy(wiring)
    first = wiring.service.start("con_folio", {"serie": "INC"})
    second = wiring.service.start("con_folio", {"serie": "INC"})
    other = wiring.service.start("con_folio", {"serie": "TKT"})
    assert (first.data["ticket"], first.data["solicitud"]) == ("INC-2026-000001", "SOL-2026-000001")
    assert (second.data["ticket"], second.data["solicitud"]) == ("INC-2026-000002", "SOL-2026-000002")
    assert (other.data["ticket"], other.data["solicitud"]) == ("TKT-2026-000001", "SOL-2026-000003")
    # 31 Dec 2026, 23:30 in Mexico City is already 2027 in UTC: still a 2026 folio.
    clock.set(datetime(2027, 1, 1, 5, 30, tzinfo=UTC))
    assert wiring.service.start("con_folio", {"serie": "INC"}).data["ticket"] == "INC-2026-000003"
    clock.set(datetime(2027, 1, 1, 7, 0, tzinfo=UTC))
    assert wiring.service.start("con_folio", {"serie": "INC"}).data["ticket"] == "INC-2027-000001"


def test_a_rolled_back_step_gives_its_number_back(wiring: Wiring, handlers: HandlerRegistry,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _register(handlers)
    _deploy(wiring)
    assert wiring.service.start("con_folio", {"serie": "INC"}).data["ticket"] == "INC-2026-000001"
    original = wiring.service._commit

    def crash(session: object) -> None:
        raise RuntimeError("the process died before the commit")

    monkeypatch.setattr(wiring.service, "_commit", crash)
    with pytest.raises(RuntimeError):
        wiring.service.start("con_folio", {"serie": "INC"})
    monkeypatch.setattr(wiring.service, "_commit", original)
    assert wiring.service.start("con_folio", {"serie": "INC"}).data["ticket"] == "INC-2026-000002"


def test_concurrent_instances_take_unique_gap_free_folios(wiring: Wiring, handlers: HandlerRegistry) -> None:
    _register(handlers)
    _deploy(wiring)
    threads, per_thread = 8, 6
    taken: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                instance = wiring.service.start("con_folio", {"serie": "INC" if n % 2 else "TKT"})
                assert instance.status == "running", instance.error
                taken.append((instance.data["ticket"], instance.data["solicitud"]))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(taken) == threads * per_thread
    by_series: dict[str, list[int]] = {}
    for ticket, solicitud in taken:
        for folio in (ticket, solicitud):
            series, year, number = parse_folio(folio)
            assert year == 2026
            by_series.setdefault(series, []).append(number)
    half = threads // 2 * per_thread
    assert sorted(by_series["INC"]) == list(range(1, half + 1))
    assert sorted(by_series["TKT"]) == list(range(1, half + 1))
    assert sorted(by_series["SOL"]) == list(range(1, threads * per_thread + 1))
