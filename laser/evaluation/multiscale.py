"""Exact optimal transport between the positive and negative parts of a signed 2-D
histogram, by multiscale column generation on sparse arcs, certified by LP duality:
the solver behind :func:`laser.evaluation.transport.emd`."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from laser.evaluation import simplex
from laser.evaluation.histograms import bin_edges
from laser.evaluation.simplex import Plan

__all__ = ["emd_signed"]

logger = logging.getLogger(__name__)


#: :func:`emd` solves transport problems with at most this many sources plus
#: sinks directly (dense cost, ``ot.emd``), larger ones by column generation.
_DIRECT_MAX_NODES: int = 1500

#: Column generation stops when the relative duality gap is at most this.
_CERT_RTOL: float = 1e-9

#: Pricing adds arcs with a reduced cost below ``-_PRICE_TOL`` x bin spacing.
_PRICE_TOL: float = 1e-10

#: Arcs added per source and pricing round (its most negative reduced costs).
_PRICE_PER_SOURCE: int = 8

#: Sources per block of reduced costs in pricing (memory: block x sinks).
_PRICE_BLOCK: int = 64

#: Starting arcs from each source (sink) to its nearest sinks (sources).
_KNN: int = 4

#: Most column generation rounds of one problem.
_MAX_ROUNDS: int = 500

#: Coarse net masses below this times the largest fine mass are rounding zeros.
_COARSE_ZERO: float = 1e-12


@dataclass
class _Stats:
    """What :func:`emd_signed` did, for the debug log.

    Attributes:
        levels: Number of grid levels used (1: solved directly).
        rounds: Column generation rounds, all levels together.
        arcs: Arcs of the last certified restricted problem (level 0's).
        gap: Its certified relative duality gap.
        solve_s: Seconds in the sparse network simplex, all levels.
        price_s: Seconds in pricing, all levels.
    """

    levels: int = 0
    rounds: int = 0
    arcs: int = 0
    gap: float = 0.0
    solve_s: float = 0.0
    price_s: float = 0.0


class _Grid:
    """Bin centres of the ``bins x bins`` grid and of its 2^L-coarsened grids.

    Level 0 is the histogram grid (:func:`bin_centres`); a bin of level
    ``L + 1`` merges the 2 x 2 bins ``(2i + {0, 1}, 2j + {0, 1})`` of level
    ``L`` (fewer at an odd edge), so level-``L`` index ``i`` holds the fine
    indices ``i * 2^L ... (i + 1) * 2^L - 1``, and its centre is their mean.
    """

    def __init__(self, bins: int, r: np.ndarray) -> None:
        ex, ey = bin_edges(bins, r)
        self._axes = [(0.5 * (ex[1:] + ex[:-1]), 0.5 * (ey[1:] + ey[:-1]))]
        #: Smallest distance between two distinct bin centres.
        self.spacing = float(min(ex[1] - ex[0], ey[1] - ey[0]))

    def centres(self, level: int, ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
        """Centres of the level-``level`` bins ``(ix, iy)``, shape ``(len(ix), 2)``."""
        while len(self._axes) <= level:
            self._axes.append(tuple(_halve(c) for c in self._axes[-1]))
        cx, cy = self._axes[level]
        return np.stack([cx[ix], cy[iy]], axis=1)


def _halve(c: np.ndarray) -> np.ndarray:
    """Means of consecutive pairs of ``c`` (the last one alone if odd)."""
    starts = np.arange(0, c.size, 2)
    counts = np.minimum(starts + 2, c.size) - starts
    return np.add.reduceat(c, starts) / counts


def _distances(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Euclidean distances between paired rows of ``xs`` and ``ys``.

    Evaluated exactly as in :func:`_price`, so that the two agree to the bit.
    """
    dx = xs[:, 0] - ys[:, 0]
    dy = xs[:, 1] - ys[:, 1]
    return np.sqrt(dx * dx + dy * dy)


def _price(
    xs: np.ndarray,
    ys: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    tol: float,
    per_source: int,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Price all source-sink pairs against the duals ``(u, v)``.

    Computes every reduced cost ``r_ij = c_ij - u_i - v_j`` (in blocks of
    :data:`_PRICE_BLOCK` sources, so memory stays O(number of sinks)).

    Returns:
        ``(i, j, worst)``: up to ``per_source`` pairs with ``r_ij < -tol`` per
        source (the most negative ones), and ``min(0, min_ij r_ij)``.
    """
    n, m = len(xs), len(ys)
    x0, x1 = xs[:, 0], xs[:, 1]
    y0, y1 = ys[:, 0], ys[:, 1]
    block = min(_PRICE_BLOCK, n)
    buf_r, buf_t = np.empty((block, m)), np.empty((block, m))
    new_i, new_j = [], []
    worst = 0.0
    for s in range(0, n, block):
        e = min(s + block, n)
        r, t = buf_r[: e - s], buf_t[: e - s]
        np.subtract(x0[s:e, None], y0[None, :], out=r)
        np.multiply(r, r, out=r)
        np.subtract(x1[s:e, None], y1[None, :], out=t)
        np.multiply(t, t, out=t)
        np.add(r, t, out=r)
        np.sqrt(r, out=r)  # c_ij, as in _distances
        np.subtract(r, v[None, :], out=r)
        np.subtract(r, u[s:e, None], out=r)
        row_min = r.min(axis=1)
        worst = min(worst, float(row_min.min()))
        rows = np.flatnonzero(row_min < -tol)
        if rows.size == 0:
            continue
        rr = r[rows]
        if per_source < m:
            cols = np.argpartition(rr, per_source, axis=1)[:, :per_source]
        else:
            cols = np.broadcast_to(np.arange(m), rr.shape)
        hit = np.take_along_axis(rr, cols, axis=1) < -tol
        new_i.append(s + rows[np.nonzero(hit)[0]])
        new_j.append(cols[hit])
    if not new_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), worst
    return np.concatenate(new_i), np.concatenate(new_j), worst


def _knn_arcs(xs: np.ndarray, ys: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Arcs from each source to its ``k`` nearest sinks and vice versa."""
    n, m = len(xs), len(ys)
    _, j = cKDTree(ys).query(xs, k=min(k, m))
    _, i = cKDTree(xs).query(ys, k=min(k, n))
    j, i = j.reshape(n, -1), i.reshape(m, -1)
    return (
        np.concatenate([np.repeat(np.arange(n), j.shape[1]), i.ravel()]),
        np.concatenate([j.ravel(), np.repeat(np.arange(m), i.shape[1])]),
    )


def _north_west_arcs(
    a: np.ndarray, b: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Support of the north-west-corner plan with both sides sorted by position.

    A feasible plan with at most ``n + m - 1`` arcs: including them keeps every
    restricted transport problem feasible.
    """
    order_s = np.lexsort((xs[:, 1], xs[:, 0]))
    order_t = np.lexsort((ys[:, 1], ys[:, 0]))
    ca, cb = np.cumsum(a[order_s]), np.cumsum(b[order_t])
    ca, cb = ca / ca[-1], cb / cb[-1]
    cuts = np.union1d(np.concatenate([[0.0], ca]), np.concatenate([[0.0], cb]))
    mid = 0.5 * (cuts[1:] + cuts[:-1])
    i = np.minimum(np.searchsorted(ca, mid, side="right"), a.size - 1)
    j = np.minimum(np.searchsorted(cb, mid, side="right"), b.size - 1)
    return order_s[i], order_t[j]


def _members(parent: np.ndarray, n_parents: int) -> np.ndarray:
    """Table ``(n_parents, 4)`` of the node indices of each parent (-1: none)."""
    order = np.argsort(parent, kind="stable")
    sorted_parent = parent[order]
    rank = np.arange(parent.size) - np.searchsorted(sorted_parent, sorted_parent)
    table = np.full((n_parents, 4), -1, dtype=np.int64)
    table[sorted_parent, rank] = order
    return table


def _column_generation(
    a: np.ndarray,
    b: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    arcs: tuple[np.ndarray, np.ndarray],
    tol: float,
    num_itermax: int,
    stats: _Stats,
    certify: bool,
) -> Plan:
    """Exact transport from ``a`` at ``xs`` to ``b`` at ``ys`` by column generation.

    Solves the problem restricted to ``arcs`` with POT's sparse network
    simplex, prices all pairs against its duals (:func:`_price`), adds the
    violated arcs and repeats until the duality gap certified by
    :func:`_gap` is at most :data:`_CERT_RTOL`. ``arcs`` must allow a feasible
    plan.

    Raises:
        RuntimeError: If ``certify`` and optimality cannot be certified (no
            new violated arc but a gap, or :data:`_MAX_ROUNDS` rounds).
    """
    n, m = a.size, b.size
    keys = np.unique(arcs[0].astype(np.int64) * m + arcs[1])
    u = v = None
    for rnd in range(1, _MAX_ROUNDS + 1):
        t0 = time.perf_counter()
        i, j = np.divmod(keys, m)
        plan, u, v = simplex.sparse(
            a, b, i, j, _distances(xs[i], ys[j]), num_itermax, u, v
        )
        t1 = time.perf_counter()
        new_i, new_j, worst = _price(xs, ys, u, v, tol, _PRICE_PER_SOURCE)
        t2 = time.perf_counter()
        gap = _gap(plan.value, a, b, u, v, worst)
        stats.rounds += 1
        stats.solve_s += t1 - t0
        stats.price_s += t2 - t1
        logger.debug(
            "emd column generation: %d x %d, round %d, %d arcs, value %.15g, "
            "min reduced cost %.3g, %d violated, gap %.3g, %.3f s + %.3f s",
            n,
            m,
            rnd,
            keys.size,
            plan.value,
            worst,
            new_i.size,
            gap,
            t1 - t0,
            t2 - t1,
        )
        if gap <= _CERT_RTOL:
            stats.arcs, stats.gap = keys.size, gap
            return plan
        new = np.unique(new_i * m + new_j)
        at = np.searchsorted(keys, new)
        fresh = keys[np.minimum(at, keys.size - 1)] != new
        if not fresh.any():  # violated arcs only within the arc set
            break
        keys = np.insert(keys, at[fresh], new[fresh])  # stays sorted
    if certify:
        raise RuntimeError(
            f"emd could not certify optimality ({n} sources x {m} sinks, "
            f"{stats.rounds} rounds, relative duality gap {gap:.3g} > {_CERT_RTOL})"
        )
    return plan


def _gap(
    value: float,
    a: np.ndarray,
    b: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    worst: float,
) -> float:
    """Relative gap between ``value`` and the dual bound of ``(u, v)``.

    ``(u + worst, v)`` satisfies ``u_i + v_j <= c_ij`` for all pairs when
    ``worst`` is the smallest reduced cost (or 0), so by weak duality
    ``a.u + b.v + worst * sum(a)`` is a lower bound of the optimum, and
    ``value`` (the cost of a feasible plan) an upper bound.
    """
    lower = float(a @ u + b @ v) + min(worst, 0.0) * float(a.sum())
    return max(value - lower, 0.0) / max(abs(value), np.finfo(float).tiny)


def _solve_level(
    grid: _Grid,
    ix: np.ndarray,
    iy: np.ndarray,
    w: np.ndarray,
    level: int,
    num_itermax: int,
    stats: _Stats,
) -> Plan:
    """Optimal plan between the bins ``(ix, iy)`` of ``level`` with signed mass ``w``.

    Small problems are solved directly; larger ones first solve the problem
    coarsened by 2 x 2 (recursively), then start the column generation from
    the fine arcs under its plan, k-nearest-neighbour arcs and a feasible
    north-west-corner plan. Only level 0 must be certified optimal: coarser
    levels only choose the starting arcs.
    """
    stats.levels = max(stats.levels, level + 1)
    src, snk = w > 0, w < 0
    a, b = w[src], -w[snk]
    if a.size == 0 or b.size == 0:
        empty = np.zeros(0, np.int64)
        return Plan(0.0, empty, empty)
    b = b * (a.sum() / b.sum())  # remove rounding differences in the total mass
    xs = grid.centres(level, ix[src], iy[src])
    ys = grid.centres(level, ix[snk], iy[snk])
    if a.size + b.size <= _DIRECT_MAX_NODES or not simplex.HAS_SPARSE:
        if not simplex.HAS_SPARSE and a.size + b.size > _DIRECT_MAX_NODES:
            logger.warning(
                "POT has no sparse network simplex (ot.lp.emd_wrap.emd_c_sparse): "
                "emd solves the %d x %d problem densely (slow, memory-hungry)",
                a.size,
                b.size,
            )
        return simplex.dense(a, b, xs, ys, num_itermax)

    # Coarse problem: net mass of each 2 x 2 block of bins.
    cx, cy = ix >> 1, iy >> 1
    ncy = int(cy.max()) + 1
    cells, parent = np.unique(cx * ncy + cy, return_inverse=True)
    net = np.bincount(parent, weights=w, minlength=cells.size)
    net[np.abs(net) <= _COARSE_ZERO * np.abs(w).max()] = 0.0  # rounding residue
    live = np.flatnonzero(net)
    coarse = _solve_level(
        grid,
        cells[live] // ncy,
        cells[live] % ncy,
        net[live],
        level + 1,
        num_itermax,
        stats,
    )

    # Fine arcs under the coarse plan: all sources of the sending block to all
    # sinks of the receiving one (at most 4 x 4 per coarse arc).
    send = live[net[live] > 0][coarse.src]
    recv = live[net[live] < 0][coarse.snk]
    from_s = _members(parent[src], cells.size)[send][:, :, None]
    to_t = _members(parent[snk], cells.size)[recv][:, None, :]
    from_s, to_t = np.broadcast_arrays(from_s, to_t)
    ok = (from_s >= 0) & (to_t >= 0)
    knn_i, knn_j = _knn_arcs(xs, ys, _KNN)
    nw_i, nw_j = _north_west_arcs(a, b, xs, ys)
    arcs = (
        np.concatenate([from_s[ok], knn_i, nw_i]),
        np.concatenate([to_t[ok], knn_j, nw_j]),
    )
    tol = _PRICE_TOL * grid.spacing
    return _column_generation(
        a, b, xs, ys, arcs, tol, num_itermax, stats, certify=level == 0
    )


def emd_signed(
    d: np.ndarray, bins: int, r: np.ndarray, num_itermax: int
) -> tuple[float, _Stats]:
    """EMD in data units between the positive and negative parts of ``d``.

    Args:
        d: Signed mass per bin, shape ``(bins * bins,)`` in :func:`bin_centres`
            order, summing to 0 (up to rounding), with positive and negative
            entries.
        bins: Number of bins per axis.
        r: The validated range.
        num_itermax: Iteration cap of each network simplex call.

    Returns:
        The EMD (Euclidean ground cost in data units) and the solver's stats.
    """
    nz = np.flatnonzero(d)
    w = d[nz]
    # Internal units: sources' mean mass 1, which keeps the solver's numbers O(1).
    unit = w[w > 0].sum() / np.count_nonzero(w > 0)
    stats = _Stats()
    plan = _solve_level(
        _Grid(bins, r), nz // bins, nz % bins, w / unit, 0, num_itermax, stats
    )
    return plan.value * unit, stats
