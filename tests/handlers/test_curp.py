"""CURP validation: RENAPO's check digit, real birth dates, the sex and state catalogues.

The valid keys are published examples (RENAPO's documentation example ``HEGG560427MVZRRL04`` and
keys collected in python-stdnum's test suite); they are hypothetical people.
"""

from __future__ import annotations

from datetime import date

import pytest

from handlers.curp import (
    Input,
    Output,
    birth_date,
    check_digit,
    field_key,
    normalize_curp,
    plain_text,
    validate_curp,
)

TODAY = date(2026, 1, 15)

PUBLISHED_VALID = [
    "HEGG560427MVZRRL04",
    "BEML920313HMCLNS09",
    "PEGL890909MJCRMS08",
    "AAAA000101HDFCCC09",
    "AAMG890608HDFLJL00",
    "BAAA890317HDFRLL03",
    "BAAD890419HMNRRV07",
    "HEGR891009HMNRRD09",
    "MARR890512HMNRMN09",
    "MESJ890928HMNZNS00",
    "OOMG890727HMNRSR06",
    "TOMA880125HMNRRN02",
    "VIAA900930MMNCLL08",
    "BOXW310820HNERXN09",  # born abroad: state NE
]


def with_digit(curp17: str) -> str:
    digit = check_digit(curp17)
    assert digit is not None
    return curp17 + str(digit)


@pytest.mark.parametrize("curp", PUBLISHED_VALID)
def test_published_keys_are_valid(curp):
    result = validate_curp(curp, today=TODAY)
    assert result["valid"], result["errors"]
    assert result["errors"] == []
    assert result["expected_check_digit"] == curp[-1]


def test_check_digit_hand_computed():
    # Σ value(c) × (18 - i) over HEGG560427MVZRRL0 = 2246 → (10 - 6) % 10 = 4
    assert check_digit("HEGG560427MVZRRL0") == 4
    assert check_digit("HEGG560427MVZRRL04") == 4  # only the first 17 characters count


def test_check_digit_uses_enye_in_the_dictionary():
    # Ñ sits between N (23) and O (25): replacing it by N or O must change the digit.
    digits = {check_digit(f"PE{c}L890909MJCRMS0") for c in "NÑO"}
    assert len(digits) == 3


def test_check_digit_cannot_be_computed():
    assert check_digit("HEGG560427") is None
    assert check_digit("HEGG56042?MVZRRL0") is None


@pytest.mark.parametrize("wrong", "012356789")
def test_wrong_check_digit_is_reported_with_the_expected_one(wrong):
    curp = "HEGG560427MVZRRL0" + wrong
    result = validate_curp(curp, today=TODAY)
    assert not result["valid"] and result["format_ok"] and not result["check_digit_ok"]
    assert result["expected_check_digit"] == "4"
    assert "se esperaba 4" in result["errors"][0]


@pytest.mark.parametrize("sex", ["H", "M", "X"])
def test_sex_h_m_and_non_binary_x_are_valid(sex):
    curp = with_digit(f"PEGL890909{sex}JCRMS0")
    result = validate_curp(curp, today=TODAY)
    assert result["valid"], result["errors"]


def test_other_sex_letter_is_invalid():
    result = validate_curp(with_digit("PEGL890909QJCRMS0"), today=TODAY)
    assert not result["valid"] and not result["format_ok"]
    assert "sexo 'Q'" in result["errors"][0]


@pytest.mark.parametrize("state", ["DF", "NE", "ZS", "AS"])
def test_state_codes(state):
    assert validate_curp(with_digit(f"PEGL890909M{state}RMS0"), today=TODAY)["valid"]


def test_unknown_state_is_invalid():
    result = validate_curp(with_digit("PEGL890909MQQRMS0"), today=TODAY)
    assert not result["valid"]
    assert "entidad de nacimiento 'QQ'" in result["errors"][0]


@pytest.mark.parametrize("yymmdd", ["891313", "890230", "890431", "890001"])
def test_nonexistent_birth_date_is_invalid(yymmdd):
    result = validate_curp(with_digit(f"PEGL{yymmdd}MJCRMS0"), today=TODAY)
    assert not result["valid"] and not result["birth_date_ok"]
    assert result["birth_date"] is None
    assert any("inexistente" in e for e in result["errors"])


def test_29_february_depends_on_the_century_from_the_homoclave():
    # A letter homoclave means 20YY: 2000-02-29 exists. A digit means 19YY: 1900 was not leap.
    assert validate_curp(with_digit("PEGL000229MJCRMSA"), today=TODAY)["birth_date"] == "2000-02-29"
    assert validate_curp(with_digit("PEGL000229MJCRMSA"), today=TODAY)["valid"]
    assert not validate_curp(with_digit("PEGL000229MJCRMS0"), today=TODAY)["birth_date_ok"]
    assert birth_date("PEGL560427MVZRRL04") == date(1956, 4, 27)
    assert birth_date("PEGL100101MVZRRLA4") == date(2010, 1, 1)


def test_birth_date_in_the_future_is_invalid():
    result = validate_curp(with_digit("PEGL400101MJCRMSA"), today=TODAY)
    assert not result["valid"] and result["birth_date"] == "2040-01-01"
    assert any("posterior a hoy" in e for e in result["errors"])


@pytest.mark.parametrize(
    ("curp", "fragment"),
    [
        ("", "CURP vacía"),
        ("1230", "18 caracteres (tiene 4)"),
        ("123ZZZZZZZZZZZZZ90", "posiciones 1-4"),
        ("HEGG560427MVZAEI04", "consonantes"),
        ("HEGG560427MVZRRL0A", "posición 18"),
    ],
)
def test_format_problems_are_explained(curp, fragment):
    result = validate_curp(curp, today=TODAY)
    assert not result["valid"] and not result["format_ok"]
    assert fragment in result["errors"][0]


def test_seventeen_characters_report_the_missing_digit():
    result = validate_curp("HEGG560427MVZRRL0", today=TODAY)
    assert not result["valid"] and result["expected_check_digit"] == "4"


def test_noise_is_normalised():
    assert normalize_curp(" hegg 560427\tmvzrrl04 ") == "HEGG560427MVZRRL04"
    assert normalize_curp(None) == ""
    assert validate_curp(" hegg560427 mvzrrl04\n", today=TODAY)["valid"]


def test_register_as_set_and_as_callable():
    curp = "HEGG560427MVZRRL04"
    assert validate_curp(curp, {curp}, TODAY)["in_register"] is True
    assert validate_curp(curp, set(), TODAY)["in_register"] is False
    assert validate_curp(curp, lambda c: c.startswith("HEGG"), TODAY)["in_register"] is True
    assert validate_curp(curp, today=TODAY)["in_register"] is None
    # Presence in the register does not make an invalid key valid, nor the reverse.
    assert not validate_curp("HEGG560427MVZRRL09", {"HEGG560427MVZRRL09"}, TODAY)["valid"]


def test_text_helpers():
    assert plain_text("  Peña   Núñez ") == "PENA NUNEZ"
    assert field_key("Apellido Paterno") == "apellido_paterno"
    assert field_key(" C.U.R.P ") == "c_u_r_p"


def test_schemas_round_trip():
    assert Input().load({"curp": "HEGG560427MVZRRL04"}) == {"curp": "HEGG560427MVZRRL04"}
    dumped = Output().dump(validate_curp("HEGG560427MVZRRL04", today=TODAY))
    assert dumped["valid"] is True and dumped["birth_date"] == "1956-04-27"
