"""Numbers from environment variables (retention days, log sizes): a malformed value is a SettingError (a
ValueError) that names the variable and what is wrong with it. Kept free of heavy imports: the service's log
writers read their sizes here."""

from __future__ import annotations

import math
import os

# a longer retention than a century is a typo (an exponent, extra zeros), and dates that far back do not exist:
# `now - timedelta(days=1e10)` raises OverflowError
MAX_DAYS = 36_500


class SettingError(ValueError):
    """A number from a variable or an option that cannot be used; the message starts with its name."""


def number_setting(name: str, default: float, *, kind: type = float, minimum: float = 0,
                   maximum: float | None = None, expected: str = "a number") -> float:
    """The value of `name` as `kind` (`default` when unset or blank), at least `minimum` (and at most `maximum`)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    return parse_number(value, f"{name}={value!r}", kind=kind, minimum=minimum, maximum=maximum, expected=expected)


def parse_number(value: str, label: str, *, kind: type = float, minimum: float = 0, maximum: float | None = None,
                 expected: str = "a number") -> float:
    """`value` as `kind`, finite, at least `minimum` and at most `maximum`, or a SettingError that starts with
    `label` (a variable, an option)."""
    try:
        number = kind(value)
    except (ValueError, OverflowError):
        raise SettingError(f"{label}: expected {expected}") from None
    # float() takes "nan" and "inf": nan passes every comparison below, and either breaks the date arithmetic after
    if isinstance(number, float) and not math.isfinite(number):
        raise SettingError(f"{label}: expected {expected} (not NaN or infinity)")
    if number < minimum:
        raise SettingError(f"{label}: " + ("must not be negative" if minimum == 0 else f"must be at least {minimum:g}"))
    if maximum is not None and number > maximum:
        raise SettingError(f"{label}: must be at most {maximum:g}")
    return number


def days_setting(name: str, default: float, *, minimum: float = 0) -> float:
    return number_setting(name, default, minimum=minimum, maximum=MAX_DAYS, expected="a number of days")
