"""The checks of values that many entry points read (scenario JSON, sweep configs, the CLI, the attack's and
the trainer's parameters): each is made here once, and each error names the value and what it must be."""

import math
from typing import Optional

import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)  # a step above it turns a float32 texture into inf, then NaN


def boolean(name: str, value) -> bool:
    """``value`` itself when it is True or False; a string such as "false" is refused, not read as true."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be true or false, got {value!r} ({type(value).__name__})")
    return bool(value)


def whole(name: str, value, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """A whole number (not a bool, not 2.5) within [minimum, maximum]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if not (isinstance(value, float) and value.is_integer()):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        bounds = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise ValueError(f"{name} must be a whole number {bounds}, got {value}")
    return value


def _number(name: str, value) -> float:
    """``value`` as a float when it is an int or float (numpy's included), not a bool or a string."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def positive(name: str, value, maximum: float = FLOAT32_MAX) -> float:
    """A finite number in (0, maximum]: NaN, inf and values float32 cannot hold are refused."""
    value = _number(name, value)
    if not (math.isfinite(value) and 0 < value <= maximum):
        raise ValueError(f"{name} must be a finite number in (0, {maximum:g}], got {value!r}")
    return value


def non_negative(name: str, value) -> float:
    """A finite number >= 0: NaN and inf are refused."""
    value = _number(name, value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def seeds(name: str, value) -> tuple:
    """A non-empty list of distinct whole numbers >= 0."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{name} must be a non-empty list of whole numbers >= 0, got {value!r}")
    checked = tuple(whole(f"{name}[{i}]", v, 0) for i, v in enumerate(value))
    if len(set(checked)) != len(checked):
        raise ValueError(f"{name} repeat a value: {list(checked)}")
    return checked
