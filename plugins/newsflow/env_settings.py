"""Numbers from environment variables (retention days, log sizes): a malformed value is a ValueError that names the
variable and what is wrong with it. Kept free of heavy imports: the service's log writers read their sizes here."""

from __future__ import annotations

import os


def number_setting(name: str, default: float, *, kind: type = float, minimum: float = 0,
                   expected: str = "a number") -> float:
    """The value of `name` as `kind` (`default` when unset or blank), at least `minimum`."""
    value = os.environ.get(name, "").strip()
    return parse_number(value, f"{name}={value!r}", kind=kind, minimum=minimum, expected=expected) if value else default


def parse_number(value: str, label: str, *, kind: type = float, minimum: float = 0, expected: str = "a number") -> float:
    """`value` as `kind`, at least `minimum`, or a ValueError that starts with `label` (a variable, an option)."""
    try:
        number = kind(value)
    except ValueError:
        raise ValueError(f"{label}: expected {expected}") from None
    if number < minimum:
        raise ValueError(f"{label}: " + ("must not be negative" if minimum == 0 else f"must be at least {minimum:g}"))
    return number


def days_setting(name: str, default: float, *, minimum: float = 0) -> float:
    return number_setting(name, default, minimum=minimum, expected="a number of days")
