"""Objects named in config as ``"package.module:name"``: a black box, a user's
generator factory."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

__all__ = ["resolve"]


def resolve(spec: str, what: str) -> Any:
    """Import ``"package.module:name"`` (name may be dotted: ``"mod:Cls.make"``).

    The working directory is searched too (a job's script runs from the
    workflow's `scripts/`, where a user's own module is not).

    Args:
        spec: the object's name.
        what: what it is, for the messages (``"black box"``, ``"generator"``).

    Raises:
        ValueError: naming the spec, when it is malformed, its module cannot
            be imported or the name is missing.

    Examples:
        >>> resolve("os.path:join", "function") is os.path.join
        True
    """
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise ValueError(f"{what} {spec!r}: expected 'package.module:name' (one colon)")
    module_name, name = spec.split(":")
    if not module_name or not name:
        raise ValueError(f"{what} {spec!r}: empty module or name")
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(
            f"{what} {spec!r}: cannot import module {module_name!r} ({e})"
        ) from None
    for part in name.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{what} {spec!r}: module {module_name!r} has no {name!r}")
        obj = getattr(obj, part)
    return obj
