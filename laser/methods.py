"""The names of the methods (as in paths and tables), their order in the tables,
their display names and their round of refinement."""

from __future__ import annotations

import re

__all__ = ["METHOD_ORDER", "LABELS", "method_rank", "label", "refinement_round"]

#: Order of the methods in the tables; the rounds laser_2, laser_3, ... follow laser.
METHOD_ORDER = [
    "truth",
    "baseline",
    "hmc",
    "laser",
    "dctr",
    "oracle",
    "rejection",
    "langevin",
    "blackbox",
    "blackbox_dctr",
    "blackbox_laser_direct",
    "blackbox_omnifold",
    "blackbox_laser_omnifold",
]

#: Display names of the method names used in paths and tables.
LABELS = {
    "truth": "Truth",
    "baseline": "Baseline",
    "hmc": "HMC",
    "laser": "LaSeR",
    "dctr": "DCTR",
    "oracle": "Oracle",
    "rejection": "Rejection",
    "langevin": "Langevin (ULA)",
    "blackbox": "Black box",
    "blackbox_dctr": "Black box, DCTR",
    "blackbox_laser_direct": "Black box + LaSeR (direct)",
    "blackbox_omnifold": "Black box, OmniFold weights",
    "blackbox_laser_omnifold": "Black box + LaSeR (OmniFold)",
}


def refinement_round(method: str) -> int:
    """The round of refinement of a method: k for `laser_k`, 1 for `laser`, 0 for
    every other method.

    Examples:
        >>> [refinement_round(m) for m in ("laser_3", "laser", "hmc")]
        [3, 1, 0]
    """
    if method == "laser":
        return 1
    match = re.fullmatch(r"laser_([1-9][0-9]*)", method)
    return int(match.group(1)) if match else 0


def method_rank(method: str) -> float:
    """Position of a method in the tables: `METHOD_ORDER`, with the rounds of
    refinement laser_2, laser_3, ... right after laser, and any other method
    after all of these.

    Examples:
        >>> sorted(["dctr", "laser_2", "laser", "baseline"], key=method_rank)
        ['baseline', 'laser', 'laser_2', 'dctr']
    """
    order = {m: i for i, m in enumerate(METHOD_ORDER)}
    k = refinement_round(method)
    if k > 1:
        return order["laser"] + 1 - 1 / k
    return order.get(method, len(order))


def label(method: str) -> str:
    """The display name of a method (its own name where none is registered);
    `laser_k`, round k of refinement, is "LaSeR (round k)".

    Examples:
        >>> label("laser_2")
        'LaSeR (round 2)'
    """
    k = refinement_round(method)
    if k > 1:
        return f"{LABELS['laser']} (round {k})"
    return LABELS.get(method, method)
