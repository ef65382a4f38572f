"""Card numbers: the Luhn check digit, worked out by hand, and fresh numbers."""

import random

import pytest

from jifen.tenants.members.cards import (
    is_valid_card_number,
    luhn_check_digit,
    new_card_number,
    normalise_card_number,
)


def test_check_digit_of_the_textbook_example():
    # 7992739871: from the right, double 1,8,3,2,9 -> 2,16->7,6,4,18->9 = 28;
    # the others 7,9,7,9,7 = 39; 67 -> check digit 3.
    assert luhn_check_digit("7992739871") == "3"


def test_check_digit_of_an_issuer_prefix_payload():
    # 880000000000000: the leftmost 8 is doubled (16 -> 7), the next 8 is not: 15 -> 5.
    assert luhn_check_digit("880000000000000") == "5"


@pytest.mark.parametrize(
    "number",
    ["8800000000000005", "4111111111111111", "4242424242424242", "5555555555554444"],
)
def test_known_valid_numbers(number):
    assert is_valid_card_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "8800000000000004",  # wrong check digit
        "4111111111111112",
        "8800000000000050",  # two neighbours swapped
        "880000000000005",  # 15 digits
        "88000000000000055",  # 17 digits
        "88000000000000x5",
        "８８00000000000005",  # full-width digits are not ASCII digits
        "",
    ],
)
def test_known_invalid_numbers(number):
    assert not is_valid_card_number(number)


def test_a_payload_must_be_digits():
    with pytest.raises(ValueError):
        luhn_check_digit("12a4")


def test_new_numbers_are_valid_and_carry_the_issuer_prefix():
    rng = random.Random(3)
    for _ in range(200):
        number = new_card_number(rng.randrange)
        assert number.startswith("88") and len(number) == 16
        assert is_valid_card_number(number)


def test_every_single_digit_error_is_caught():
    number = new_card_number()
    for position in range(16):
        for digit in "0123456789":
            if digit != number[position]:
                typo = number[:position] + digit + number[position + 1 :]
                assert not is_valid_card_number(typo)


def test_spaces_and_dashes_are_ignored_when_normalising():
    assert normalise_card_number(" 8800 0000-0000 0005 ") == "8800000000000005"
