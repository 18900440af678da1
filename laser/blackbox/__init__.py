"""Black-box generators and the OmniFold pull-back (arXiv:2106.00792, Sec. 3).

Modules: :mod:`~laser.blackbox.base` (the protocol, seeded generation),
:mod:`~laser.blackbox.boxes` (the shipped boxes), :mod:`~laser.blackbox.spec`
(loading a box from config), :mod:`~laser.blackbox.omnifold` (the pull-back of
weights through a stochastic box).

The shipped boxes are named here as well, so that the config spec
``"laser.blackbox:SmearedGenerator"`` resolves; they are loaded on first use,
so that importing one module of the package does not import the others.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["GaussianSmear", "SmearedGenerator"]


def __getattr__(name: str) -> Any:
    """The shipped boxes of :mod:`laser.blackbox.boxes`, on first use."""
    if name in __all__:
        return getattr(importlib.import_module("laser.blackbox.boxes"), name)
    raise AttributeError(f"module 'laser.blackbox' has no attribute {name!r}")
