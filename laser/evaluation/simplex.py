"""Exact network-simplex solves of transport problems (POT), with a convergence
check and retries: dense (``ot.emd``, ``ot.emd2``) and on a sparse arc set."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import NamedTuple, TypeVar

import numpy as np
import ot

try:  # POT >= 0.9.7: network simplex on a sparse arc set, with warm start
    from ot.lp.emd_wrap import emd_c_sparse as _emd_c_sparse
except ImportError:  # pragma: no cover - older POT: dense reduced problem only
    _emd_c_sparse = None

__all__ = ["DEFAULT_NUM_ITERMAX", "Plan", "solve_emd2", "dense", "sparse", "HAS_SPARSE"]

logger = logging.getLogger(__name__)

#: Whether POT has the sparse network simplex (POT >= 0.9.7).
HAS_SPARSE: bool = _emd_c_sparse is not None


#: Default iteration cap of the network simplex in :func:`emd` / :func:`emd_dense`.
DEFAULT_NUM_ITERMAX: int = 100_000_000

#: Each retry multiplies the iteration cap by this factor.
_RETRY_FACTOR: int = 10

#: Number of retries after a non-converged network simplex before giving up.
_MAX_RETRIES: int = 2


_T = TypeVar("_T")


def _retry(
    solve: Callable[[int], tuple[int, _T, str]], num_itermax: int, what: str
) -> _T:
    """Run a network simplex ``solve(n_iter)`` until it reports optimality.

    ``solve`` returns POT's result code (1 optimal, 3 iteration cap reached,
    others fatal), its output and its warning text. The cap is raised by
    :data:`_RETRY_FACTOR` up to :data:`_MAX_RETRIES` times.
    """
    if num_itermax < 1:
        raise ValueError(f"num_itermax must be >= 1, got {num_itermax}")
    n_iter = int(num_itermax)
    for attempt in range(_MAX_RETRIES + 1):
        code, out, message = solve(n_iter)
        if code == 1:  # OPTIMAL
            return out
        if code != 3:  # infeasible / unbounded: retrying will not help
            raise RuntimeError(f"{what} failed (result code {code}): {message}")
        logger.warning(
            "%s reached numItermax=%d before optimality (attempt %d/%d)",
            what,
            n_iter,
            attempt + 1,
            _MAX_RETRIES + 1,
        )
        n_iter *= _RETRY_FACTOR
    raise RuntimeError(
        f"{what} did not converge within numItermax={n_iter // _RETRY_FACTOR}; "
        "its value would overestimate the EMD"
    )


def solve_emd2(
    a: np.ndarray, b: np.ndarray, cost: np.ndarray, num_itermax: int
) -> float:
    """Exact ``ot.emd2`` with a convergence check and retries."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    cost = np.ascontiguousarray(cost, dtype=np.float64)

    def solve(n_iter: int) -> tuple[int, float, str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value, log = ot.emd2(
                a, b, cost, numItermax=n_iter, log=True, check_marginals=False
            )
        for w in caught:
            logger.debug("ot.emd2 warning: %s", w.message)
        return int(log["result_code"]), float(value), str(log["warning"])

    return _retry(solve, num_itermax, "ot.emd2")


# ------------------------------------------------ exact EMD by column generation


class Plan(NamedTuple):
    """An optimal transport plan between the sources and sinks of one level.

    Attributes:
        value: Its cost, in the internal units of :func:`emd_signed`.
        src: Source index of each arc that carries flow.
        snk: Sink index of each arc that carries flow.
    """

    value: float
    src: np.ndarray
    snk: np.ndarray


def dense(
    a: np.ndarray, b: np.ndarray, xs: np.ndarray, ys: np.ndarray, num_itermax: int
) -> Plan:
    """Exact transport between all sources and sinks with ``ot.emd`` (dense)."""
    cost = np.sqrt(
        np.square(xs[:, None, 0] - ys[None, :, 0])
        + np.square(xs[:, None, 1] - ys[None, :, 1])
    )

    def solve(n_iter: int) -> tuple[int, Plan, str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            plan, log = ot.emd(
                a, b, cost, numItermax=n_iter, log=True, check_marginals=False
            )
        for w in caught:
            logger.debug("ot.emd warning: %s", w.message)
        i, j = np.nonzero(plan)
        return int(log["result_code"]), Plan(float(log["cost"]), i, j), log["warning"]

    return _retry(solve, num_itermax, "ot.emd")


def sparse(
    a: np.ndarray,
    b: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    cost: np.ndarray,
    num_itermax: int,
    u0: np.ndarray | None,
    v0: np.ndarray | None,
) -> tuple[Plan, np.ndarray, np.ndarray]:
    """Exact transport restricted to the arcs ``(i, j)`` (POT's sparse simplex).

    Returns:
        The plan and the duals ``(u, v)``: ``u_i + v_j <= cost`` on the arcs,
        with equality where the plan has flow. ``(u0, v0)`` warm-start it.
    """
    i, j = i.astype(np.uint64), j.astype(np.uint64)

    def solve(n_iter: int) -> tuple[int, tuple, str]:
        fs, ft, _, value, u, v, code = _emd_c_sparse(a, b, i, j, cost, n_iter, u0, v0)
        plan = Plan(float(value), fs.astype(np.int64), ft.astype(np.int64))
        return int(code), (plan, u, v), f"result code {code}"

    return _retry(solve, num_itermax, "sparse network simplex")
