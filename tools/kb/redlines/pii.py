"""Validators for personal data: GB 11643 resident IDs, Luhn bank cards, mobile numbers."""

from __future__ import annotations

import datetime as _dt

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_valid(number: str) -> bool:
    """18-digit resident ID: valid birth date and MOD 11-2 check digit (GB 11643-1999)."""
    number = number.upper()
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        _dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == number[17]


def luhn_valid(digits: str) -> bool:
    digits = "".join(c for c in digits if c.isdigit())
    if not 16 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def mobile_valid(number: str) -> bool:
    digits = "".join(c for c in number if c.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"
