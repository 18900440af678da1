"""Checks of the fields of the settings dataclasses, with messages that name the
field: ``Owner.field must be ...``."""

from __future__ import annotations

import math

__all__ = ["check_int", "check_positive", "check_choice"]


def check_int(owner: str, name: str, value: object, minimum: int) -> None:
    """Raise ValueError unless ``value`` is an int (not bool) and >= ``minimum``.

    Examples:
        >>> check_int("HMCConfig", "n_chains", 100, 1)
        >>> check_int("HMCConfig", "n_chains", 0, 1)
        Traceback (most recent call last):
        ...
        ValueError: HMCConfig.n_chains must be >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{owner}.{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}.{name} must be >= {minimum}, got {value}")


def check_positive(owner: str, name: str, value: object, minimum: float = 0) -> None:
    """Raise ValueError unless ``value`` is a finite number > 0 (>= ``minimum``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{owner}.{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0 and value >= minimum):
        bound = f">= {minimum}" if minimum else "> 0"
        raise ValueError(f"{owner}.{name} must be finite and {bound}, got {value}")


def check_choice(owner: str, name: str, value: object, choices: tuple) -> None:
    """Raise ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(
            f"{owner}.{name} must be one of {list(choices)}, got {value!r}"
        )
