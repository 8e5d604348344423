"""Unified social credit code (统一社会信用代码, GB 32100-2015): validation and check characters.

An 18-character code is: registration authority (1) + entity type (1) + administrative division
(6 digits) + organisation code (9, GB 11714 with its own check character) + check character (1).
The check character is computed over the first 17 characters with the standard's weights in the
31-character alphabet (the Latin capitals without I, O, Z, S, V).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714 organisation code: 8 body characters (digits or capitals) then a check character
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters (which must be in the alphabet)."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_error(code: str) -> str | None:
    """Why ``code`` is not a valid credit code, or ``None`` when it is valid (case-sensitive)."""
    if len(code) != 18:
        return f"must have 18 characters, has {len(code)}"
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        return f"characters not allowed by GB 32100-2015: {''.join(bad)}"
    if not code[2:8].isdigit():
        return "characters 3-8 (administrative division) must be digits"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]}, GB 32100-2015 gives {expected}"
    return None


def is_valid_credit_code(code: str) -> bool:
    """True when ``code`` is an 18-character code whose check character is right."""
    return credit_code_error(code) is None


def org_code_check(body8: str) -> str:
    """The GB 11714 check character for an 8-character organisation code body."""
    total = sum(int(ch, 36) * w for ch, w in zip(body8, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else ("0" if c == 11 else str(c))


def make_credit_codes(
    *, admin_codes: npt.NDArray[np.int64], serials: npt.NDArray[np.int64], prefix: str = "91"
) -> npt.NDArray[np.str_]:
    """Valid, distinct credit codes for distinct ``serials`` (vectorised; used by the generator).

    ``admin_codes`` are 6-digit administrative division codes as integers (310106 = 静安区).

    The organisation body is the serial scrambled by an affine bijection of [0, 10**8), so
    distinct serials give distinct codes whatever the division codes are.
    """
    body = (serials.astype(np.int64) * 7_654_321 + 12_345_678) % 100_000_000
    digits = np.stack([(body // 10 ** (7 - k)) % 10 for k in range(8)], axis=1)
    org = 11 - (digits @ np.array(_ORG_WEIGHTS)) % 11
    pre = np.array([_VALUE[c] for c in prefix])
    admin_int = np.asarray(admin_codes, dtype=np.int64)
    admin = np.stack([(admin_int // 10 ** (5 - k)) % 10 for k in range(6)], axis=1)
    org_values = np.where(org == 10, _VALUE["X"], np.where(org == 11, 0, org))
    values = np.concatenate(
        [np.broadcast_to(pre, (len(body), 2)), admin, digits, org_values[:, None]], axis=1
    )
    check = (31 - (values @ np.array(WEIGHTS)) % 31) % 31
    alphabet = np.array(list(ALPHABET))
    chars = np.concatenate([alphabet[values], alphabet[check][:, None]], axis=1)
    return np.ascontiguousarray(chars).view("<U18").ravel()
