"""folio: formatting and validation (the counter itself is tested against databases in tests/engine)."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from handlers.folio import Input, format_folio, make_folio, parse_folio, validate_series


def test_format_and_parse_round_trip() -> None:
    assert format_folio("INC", 2026, 123) == "INC-2026-000123"
    assert format_folio("sol", 2027, 1) == "SOL-2027-000001"
    assert format_folio("TKT", 2026, 1_234_567) == "TKT-2026-1234567"
    assert parse_folio("INC-2026-000123") == ("INC", 2026, 123)
    with pytest.raises(ValueError):
        parse_folio("INC-26-1")


@pytest.mark.parametrize("series", ["", "1NC", "IN C", "INC-1", "Ñ", "A" * 21, 7])
def test_bad_series_is_rejected_by_function_and_schema(series: object) -> None:
    with pytest.raises(ValueError):
        validate_series(series)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Input().load({"series": series})


def test_make_folio_asks_the_counter_for_the_normalized_series() -> None:
    asked = []

    def counter(series: str) -> tuple[int, int]:
        asked.append(series)
        return 2026, len(asked)

    folio = make_folio(counter)
    assert [folio(" inc "), folio("INC")] == ["INC-2026-000001", "INC-2026-000002"]
    assert asked == ["INC", "INC"]
    with pytest.raises(ValueError):
        format_folio("INC", 2026, 0)
