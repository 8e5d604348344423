from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from data.credit_code import (
    ALPHABET,
    check_character,
    credit_code_error,
    is_valid_credit_code,
    make_credit_codes,
    org_code_check,
)

# real codes from the Shanghai registrations (public registry data)
REAL = ["913101011324142057", "91310109133128219B", "913101067362027138", "913101018323234353"]


@pytest.mark.parametrize("code", REAL)
def test_real_codes_are_valid(code: str) -> None:
    assert credit_code_error(code) is None


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91310109133128219C", "check character is C, GB 32100-2015 gives B"),
        ("91310109133128219b", "characters not allowed"),
        ("9131010913312821", "must have 18 characters, has 16"),
        ("91310109133128219BX", "has 19"),
        ("9131O109133128219B", "characters not allowed by GB 32100-2015: O"),
        ("91ABCDEF133128219B", "administrative division"),
    ],
)
def test_invalid_codes_name_the_reason(code: str, fragment: str) -> None:
    error = credit_code_error(code)
    assert error is not None and fragment in error


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17), st.integers(0, 16), st.integers(1, 30))
def test_any_single_substitution_is_detected(first17: str, position: int, shift: int) -> None:
    code = "91" + "310106" + first17[8:] + check_character("91310106" + first17[8:])
    assert is_valid_credit_code(code)
    chars = list(code)
    chars[position] = ALPHABET[(ALPHABET.index(chars[position]) + shift) % 31]
    altered = "".join(chars)
    if altered[2:8].isdigit():  # an altered division digit may become a letter: also invalid
        assert not is_valid_credit_code(altered)


def test_generated_codes_are_valid_and_distinct() -> None:
    serials = np.arange(0, 50_000, dtype=np.int64)
    codes = make_credit_codes(admin_codes=np.full(len(serials), 310106), serials=serials)
    assert len(set(codes)) == len(codes)
    assert all(is_valid_credit_code(c) for c in codes[:5_000])
    assert all(c[2:8] == "310106" for c in codes[:100])
    assert all(org_code_check(c[8:16]) == c[16] for c in codes[:1_000])
