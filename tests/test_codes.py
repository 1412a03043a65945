"""Plates and container codes as read at the gates."""

from __future__ import annotations

import random

import pytest

from controllers import identifiers
from controllers.codes import container_code, country_of, iso6346_check_digit, match_plate, normalise_plate, plate_format


@pytest.mark.parametrize(
    ("read", "plate"),
    [
        ("12C-123.45", "12C-123.45"),
        ("12C12345", "12C-123.45"),
        ("12-C1 123.45", "12C1-123.45"),  # a two-line plate read line by line
        ("29LD 1234", "29LD-1234"),
        ("桂A·12345", "桂A·12345"),
        ("桂A 12345", "桂A·12345"),
        ("粤b.D1234", "粤B·D1234"),
        ("12R-123.45", "12R-123.45"),  # a Vietnamese trailer
        ("桂A·D12345", "桂A·D12345"),  # green new-energy, small vehicle
        ("桂A 12345F", "桂A·12345F"),  # green new-energy, large vehicle
        ("桂A·1234挂", "桂A·1234挂"),  # trailer
        ("粤Z 1234港", "粤Z·1234港"),  # Hong Kong cross-border
        ("桂A1234学", "桂A·1234学"),
    ],
)
def test_plates_are_normalised_to_their_country_format(read: str, plate: str) -> None:
    assert normalise_plate(read) == plate


@pytest.mark.parametrize(
    "read",
    [
        "",
        "ABC",
        "1234567",
        "X A12345",
        "12C-12",
        "桂A·I2345",  # GA 36 has no I or O
        "桂A·123456",  # six characters are a new-energy plate's, with D or F
        "桂A·12345挂",  # a trailer has four before its 挂
        "挂A·12345",  # 挂 is no province
    ],
)
def test_what_is_no_plate_is_said_so(read: str) -> None:
    assert normalise_plate(read) is None


def test_the_twins_plates_are_all_valid_and_of_the_right_country() -> None:
    rng = random.Random(3)
    for side in ("vietnam", "china"):
        for _ in range(200):
            plate = identifiers.plate(side, rng)  # type: ignore[arg-type]
            assert normalise_plate(plate) == plate
            assert country_of(plate) == side


def test_one_confusable_character_matches_only_with_a_flag_for_an_officer() -> None:
    declared = ["12C-123.45", "桂A·12345", "51D-888.01"]
    assert match_plate("12C 12345", declared) == (m := match_plate("12C-123.45", declared)) and m.exact
    fuzzy = match_plate("12C-I23.45", declared)  # 1 read as I
    assert (fuzzy.plate, fuzzy.exact, fuzzy.needs_officer) == ("12C-123.45", False, True)
    fuzzy = match_plate("51D-BB8.01", declared)  # two confusions: no match
    assert fuzzy.plate is None
    assert match_plate("99Z-000.00", declared).plate is None


def test_an_ambiguous_read_is_left_to_an_officer() -> None:
    result = match_plate("12C-123.4S", ["12C-123.45", "12C-123.48"])
    assert result.plate == "12C-123.45" and result.needs_officer
    result = match_plate("12C-O23.45", ["12C-023.45", "12C-D23.45"])
    assert result.plate is None and result.needs_officer


def test_container_codes_are_checked_with_their_iso_6346_digit() -> None:
    assert iso6346_check_digit("CSQU305438") == 3
    assert container_code("CSQU 305438 3") == "CSQU3054383"
    assert container_code("CSQU3054384") is None  # wrong check digit
    assert container_code("CSQ3054383") is None
    for serial in range(1, 300):
        code = identifiers.container_code("vietnam", serial)
        assert container_code(code) == code


@pytest.mark.parametrize(
    ("plate", "fmt"),
    [
        ("12C-123.45", "vn_5digit"),
        ("12C-1234", "vn_4digit"),
        ("12R-123.45", "vn_trailer"),
        ("29LD-123.45", "vn_2letter"),
        ("12C1-123.45", "vn_5digit"),
        ("桂A·12345", "cn_standard"),
        ("桂A·D12345", "cn_new_energy"),
        ("桂A·12345D", "cn_new_energy"),
        ("桂A·1234挂", "cn_use"),
        ("粤Z·1234澳", "cn_use"),
    ],
)
def test_a_plates_format_is_told_by_its_content(plate: str, fmt: str) -> None:
    assert normalise_plate(plate) == plate and plate_format(plate) == fmt
