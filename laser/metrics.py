"""Histogram distances (JSD, EMD) between 2D samples, paper Sec. 4.2 (Eqs. 4-5)."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence

import numpy as np
import ot

__all__ = [
    "CONVENTIONS",
    "as_convention",
    "bin_centres",
    "emd",
    "emd_dense",
    "ground_cost",
    "histogram2d",
    "jsd",
    "scores",
]

logger = logging.getLogger(__name__)

#: Normalisation conventions of the histograms and ground cost (see module docs).
#: ``"paper"``: numpy ``density=True`` histograms (values sum to 1/bin-area) and a
#: ground cost divided by its maximum, as in the paper's code and its Table 3.
#: ``"normalised"``: probabilities summing to 1 and a ground cost in data units.
CONVENTIONS: tuple[str, ...] = ("paper", "normalised")

#: Default iteration cap of the network simplex in :func:`emd` / :func:`emd_dense`.
DEFAULT_NUM_ITERMAX: int = 100_000_000

#: Each retry multiplies the iteration cap by this factor.
_RETRY_FACTOR: int = 10

#: Number of retries after a non-converged network simplex before giving up.
_MAX_RETRIES: int = 2

#: Relative tolerance on the equality of the total masses of ``p`` and ``q``.
_MASS_RTOL: float = 1e-6


# --------------------------------------------------------------------------- checks


def _check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    return convention


def _check_bins(bins: int) -> int:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)):
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    return int(bins)


def _check_range(range: Sequence[Sequence[float]]) -> np.ndarray:
    try:
        r = np.asarray(range, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"range must be [[x0, x1], [y0, y1]] of numbers, got {range!r}"
        ) from exc
    if r.shape != (2, 2):
        raise ValueError(
            f"range must be [[x0, x1], [y0, y1]] (shape (2, 2)), got shape {r.shape}"
        )
    if not np.all(np.isfinite(r)):
        raise ValueError(f"range must be finite, got {r.tolist()}")
    if not (r[0, 0] < r[0, 1] and r[1, 0] < r[1, 1]):
        raise ValueError(f"range must satisfy x0 < x1 and y0 < y1, got {r.tolist()}")
    return r


def _check_hist(h: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(h, dtype=np.float64)
    if a.size == 0:
        raise ValueError(f"{name} is empty (size 0)")
    if np.any(np.isnan(a)):
        raise ValueError(f"{name} contains NaN")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains infinite values")
    if np.any(a < 0):
        raise ValueError(f"{name} has negative entries (min {a.min():.3g})")
    if not a.sum() > 0:
        raise ValueError(f"{name} is an empty histogram (no entries / total 0)")
    return a


def _check_pair(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pa, qa = np.asarray(p), np.asarray(q)
    if pa.shape != qa.shape:
        raise ValueError(
            f"p and q must have the same shape, got {pa.shape} and {qa.shape}"
        )
    return _check_hist(pa, "p"), _check_hist(qa, "q")


def _check_emd_inputs(
    p: np.ndarray,
    q: np.ndarray,
    bins: int,
    range: Sequence[Sequence[float]],
    convention: str,
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    _check_convention(convention)
    bins = _check_bins(bins)
    r = _check_range(range)
    pa, qa = _check_pair(p, q)
    if pa.size != bins * bins:
        raise ValueError(
            f"p and q must hold bins*bins = {bins * bins} values "
            f"(shape ({bins}, {bins})), got shape {pa.shape}"
        )
    pa, qa = pa.ravel(), qa.ravel()
    sp, sq = pa.sum(), qa.sum()
    if abs(sp - sq) > _MASS_RTOL * max(sp, sq):
        raise ValueError(
            f"p and q must have equal total mass, got {sp!r} and {sq!r}; "
            "normalise them with as_convention first"
        )
    return pa, qa, bins, r


# ------------------------------------------------------------------ histograms


def _edges(bins: int, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.linspace(r[0, 0], r[0, 1], bins + 1),
        np.linspace(r[1, 0], r[1, 1], bins + 1),
    )


def histogram2d(
    x: np.ndarray,
    bins: int,
    range: Sequence[Sequence[float]],
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Raw (weighted) 2D histogram of a sample, the input of Sec. 4.2's distances.

    Thin, validated wrapper of :func:`numpy.histogram2d` with ``density=False``.
    Points outside ``range`` are dropped, as numpy does (the upper edge is
    included in the last bin).

    Args:
        x: Sample of shape ``(N, 2)``; callers select the two columns to compare.
        bins: Number of bins per axis (the paper uses 100).
        range: ``[[x0, x1], [y0, y1]]`` with ``x0 < x1`` and ``y0 < y1``.
        weights: Optional per-point weights of shape ``(N,)``.

    Returns:
        Counts (sums of weights), float64, shape ``(bins, bins)``; axis 0 is the
        first coordinate, so ``counts.ravel()`` matches :func:`bin_centres`.

    Raises:
        ValueError: On a bad ``x``, ``bins``, ``range`` or ``weights``, or NaN.
    """
    bins = _check_bins(bins)
    r = _check_range(range)
    xa = np.asarray(x, dtype=np.float64)
    if xa.ndim != 2 or xa.shape[1] != 2:
        raise ValueError(f"x must have shape (N, 2), got {xa.shape}")
    if np.any(np.isnan(xa)):
        raise ValueError("x contains NaN")
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (xa.shape[0],):
            raise ValueError(
                f"weights must have shape ({xa.shape[0]},) to match x, got {w.shape}"
            )
        if np.any(np.isnan(w)):
            raise ValueError("weights contains NaN")
    counts, _, _ = np.histogram2d(
        xa[:, 0], xa[:, 1], bins=bins, range=r.tolist(), weights=w
    )
    return np.asarray(counts, dtype=np.float64)


def as_convention(
    counts: np.ndarray, range: Sequence[Sequence[float]], convention: str
) -> np.ndarray:
    """Normalise raw counts to one of :data:`CONVENTIONS` (Sec. 4.2).

    ``"paper"`` gives ``counts / counts.sum() / bin_area``, identical to
    :func:`numpy.histogram2d` with ``density=True`` (values sum to 1/bin-area);
    ``"normalised"`` gives probabilities ``counts / counts.sum()``.

    Args:
        counts: Raw counts of shape ``(bins_x, bins_y)`` from :func:`histogram2d`.
        range: The ``[[x0, x1], [y0, y1]]`` the counts were binned over.
        convention: ``"paper"`` or ``"normalised"``.

    Returns:
        Float64 array of the shape of ``counts``.

    Raises:
        ValueError: On an unknown convention, a bad range or counts that are not
            2D, negative, NaN or empty (total 0).
    """
    _check_convention(convention)
    r = _check_range(range)
    c = np.asarray(counts)
    if c.ndim != 2:
        raise ValueError(f"counts must be 2D (bins_x, bins_y), got shape {c.shape}")
    c = _check_hist(c, "counts")
    prob = c / c.sum()
    if convention == "normalised":
        return prob
    area = float((r[0, 1] - r[0, 0]) / c.shape[0] * (r[1, 1] - r[1, 0]) / c.shape[1])
    return prob / area


def bin_centres(bins: int, range: Sequence[Sequence[float]]) -> np.ndarray:
    """Centres of the ``bins x bins`` grid over ``range`` (Sec. 4.2 ground cost).

    Args:
        bins: Number of bins per axis.
        range: ``[[x0, x1], [y0, y1]]``.

    Returns:
        Array of shape ``(bins * bins, 2)``; row ``i * bins + j`` is the centre of
        bin ``(i, j)``, i.e. row-major, consistent with ``counts.ravel()``.

    Raises:
        ValueError: On bad ``bins`` or ``range``.
    """
    bins = _check_bins(bins)
    r = _check_range(range)
    ex, ey = _edges(bins, r)
    cx, cy = 0.5 * (ex[1:] + ex[:-1]), 0.5 * (ey[1:] + ey[:-1])
    gx, gy = np.meshgrid(cx, cy, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def _cost_scale(centres: np.ndarray, convention: str) -> float:
    """Divisor of the Euclidean ground cost: its maximum (paper) or 1."""
    if convention == "normalised":
        return 1.0
    # The largest centre-centre distance on a rectangular grid is the diagonal
    # between opposite corner centres.
    span = centres.max(axis=0) - centres.min(axis=0)
    return float(np.hypot(span[0], span[1]))


def ground_cost(
    bins: int, range: Sequence[Sequence[float]], convention: str
) -> np.ndarray:
    """Dense EMD ground cost between all bin centres (Sec. 4.2, Eq. 5).

    Euclidean distance between bin centres; in the ``"paper"`` convention it is
    divided by its maximum over all pairs, as the paper's code does with
    ``ot.dist(c, c, metric='euclidean')`` and ``M /= M.max()``. Reference only:
    at ``bins=100`` this is a 10^4 x 10^4 (800 MB) matrix.

    Args:
        bins: Number of bins per axis.
        range: ``[[x0, x1], [y0, y1]]``.
        convention: ``"paper"`` or ``"normalised"``.

    Returns:
        Float64 array of shape ``(bins**2, bins**2)``, ordered as
        :func:`bin_centres`.

    Raises:
        ValueError: On an unknown convention or bad ``bins`` / ``range``.
    """
    _check_convention(convention)
    c = bin_centres(bins, range)
    m = np.asarray(ot.dist(c, c, metric="euclidean"), dtype=np.float64)
    if convention == "paper":
        m /= m.max()
    return m


# ------------------------------------------------------------------- distances


def jsd(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence of two histograms (Sec. 4.2, Eq. 4).

    ``0.5 * sum p log(p/m) + 0.5 * sum q log(q/m)`` with ``m = (p + q) / 2``,
    natural log, terms with ``p = 0`` (resp. ``q = 0``) contributing 0. It is
    evaluated on the values as given: on probabilities (``"normalised"``) it is
    bounded by ln 2; on the paper's density values it is that times 1/bin-area.

    Args:
        p: Histogram (any shape), non-negative.
        q: Histogram of the same shape, non-negative.

    Returns:
        The divergence, a non-negative float.

    Raises:
        ValueError: On different shapes, NaN, negative entries or an empty
            histogram.
    """
    pa, qa = _check_pair(p, q)
    pa, qa = pa.ravel(), qa.ravel()
    m = 0.5 * (pa + qa)
    sp, sq = pa > 0, qa > 0
    kl_p = np.sum(pa[sp] * np.log(pa[sp] / m[sp]))
    kl_q = np.sum(qa[sq] * np.log(qa[sq] / m[sq]))
    return float(max(0.5 * kl_p + 0.5 * kl_q, 0.0))


def _solve_emd2(
    a: np.ndarray, b: np.ndarray, cost: np.ndarray, num_itermax: int
) -> float:
    """Exact ``ot.emd2`` with a convergence check and retries."""
    if num_itermax < 1:
        raise ValueError(f"num_itermax must be >= 1, got {num_itermax}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    n_iter = int(num_itermax)
    for attempt in range(_MAX_RETRIES + 1):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value, log = ot.emd2(
                a, b, cost, numItermax=n_iter, log=True, check_marginals=False
            )
        for w in caught:
            logger.debug("ot.emd2 warning: %s", w.message)
        code = int(log["result_code"])
        if code == 1:  # OPTIMAL
            return float(value)
        if code != 3:  # infeasible / unbounded: retrying will not help
            raise RuntimeError(f"ot.emd2 failed (result code {code}): {log['warning']}")
        logger.warning(
            "ot.emd2 reached numItermax=%d before optimality (attempt %d/%d)",
            n_iter,
            attempt + 1,
            _MAX_RETRIES + 1,
        )
        n_iter *= _RETRY_FACTOR
    raise RuntimeError(
        f"ot.emd2 did not converge within numItermax={n_iter // _RETRY_FACTOR}; "
        "its value would overestimate the EMD"
    )


def emd(
    p: np.ndarray,
    q: np.ndarray,
    bins: int,
    range: Sequence[Sequence[float]],
    convention: str,
    *,
    num_itermax: int = DEFAULT_NUM_ITERMAX,
) -> float:
    """Exact earth mover's distance between two histograms (Sec. 4.2, Eq. 5), fast.

    Equal to :func:`emd_dense` but without the dense 10^4 x 10^4 cost: since the
    ground cost is a metric, mass that ``p`` and ``q`` share in a bin costs
    nothing to transport (Kantorovich-Rubinstein), so ``s = min(p, q)`` is
    removed from both and only the bins with ``p - s > 0`` (sources) and
    ``q - s > 0`` (sinks) enter the transport problem, whose cost is built
    between those two sets of centres and solved exactly with ``ot.emd2``.

    Args:
        p: Histogram of shape ``(bins, bins)`` (or flattened), in ``convention``.
        q: Histogram of the same shape and total mass.
        bins: Number of bins per axis.
        range: ``[[x0, x1], [y0, y1]]`` the histograms were binned over.
        convention: ``"paper"`` (cost divided by its maximum; densities) or
            ``"normalised"`` (cost in data units; probabilities).
        num_itermax: Iteration cap of the network simplex; it is raised
            tenfold up to twice if the solver stops before optimality.

    Returns:
        The EMD, a non-negative float (0.0 when ``p == q``).

    Raises:
        ValueError: On invalid inputs or unequal total masses.
        RuntimeError: If the solver does not reach optimality.
    """
    pa, qa, bins, r = _check_emd_inputs(p, q, bins, range, convention)
    t0 = time.perf_counter()
    d = pa - qa  # == (p - min(p, q)) - (q - min(p, q))
    src, snk = d > 0, d < 0
    if not src.any() or not snk.any():
        return 0.0
    centres = bin_centres(bins, r)
    cost = np.asarray(
        ot.dist(centres[src], centres[snk], metric="euclidean"), dtype=np.float64
    )
    cost /= _cost_scale(centres, convention)
    a, b = d[src], -d[snk]
    b *= a.sum() / b.sum()  # remove rounding differences in the total mass
    value = _solve_emd2(a, b, cost, num_itermax)
    logger.debug(
        "emd (%s): %d sources x %d sinks, %.3g s",
        convention,
        a.size,
        b.size,
        time.perf_counter() - t0,
    )
    return value


def emd_dense(
    p: np.ndarray,
    q: np.ndarray,
    bins: int,
    range: Sequence[Sequence[float]],
    convention: str,
    *,
    num_itermax: int = DEFAULT_NUM_ITERMAX,
) -> float:
    """Reference EMD (Sec. 4.2, Eq. 5): ``ot.emd2`` on the dense ground cost.

    Straightforward, as the paper's code: slow and memory-hungry at
    ``bins=100`` (a 10^4 x 10^4 problem); use :func:`emd`, which is exact too.

    Args:
        p: Histogram of shape ``(bins, bins)`` (or flattened), in ``convention``.
        q: Histogram of the same shape and total mass.
        bins: Number of bins per axis.
        range: ``[[x0, x1], [y0, y1]]`` the histograms were binned over.
        convention: ``"paper"`` or ``"normalised"``.
        num_itermax: Iteration cap of the network simplex (raised on retries).

    Returns:
        The EMD, a non-negative float.

    Raises:
        ValueError: On invalid inputs or unequal total masses.
        RuntimeError: If the solver does not reach optimality.
    """
    pa, qa, bins, r = _check_emd_inputs(p, q, bins, range, convention)
    cost = ground_cost(bins, r, convention)
    qa = qa * (pa.sum() / qa.sum())
    return _solve_emd2(pa, qa, cost, num_itermax)


def scores(
    counts_ref: np.ndarray, counts: np.ndarray, range: Sequence[Sequence[float]]
) -> dict[str, dict[str, float]]:
    """EMD and JSD between two raw count histograms in both conventions (Sec. 4.2).

    Args:
        counts_ref: Raw counts of the reference sample, shape ``(bins, bins)``.
        counts: Raw counts of the compared sample, same shape.
        range: ``[[x0, x1], [y0, y1]]`` both were binned over.

    Returns:
        ``{"paper": {"emd": ..., "jsd": ...}, "normalised": {"emd": ..., "jsd": ...}}``.

    Raises:
        ValueError: On histograms of different or non-square shape, empty
            histograms, NaN, or a bad range.
    """
    cr, c = np.asarray(counts_ref), np.asarray(counts)
    if cr.shape != c.shape:
        raise ValueError(
            f"counts_ref and counts must have the same shape, got {cr.shape} "
            f"and {c.shape}"
        )
    if cr.ndim != 2 or cr.shape[0] != cr.shape[1]:
        raise ValueError(
            f"counts_ref and counts must be square (bins, bins), got {cr.shape}"
        )
    bins = cr.shape[0]
    out: dict[str, dict[str, float]] = {}
    for convention in CONVENTIONS:
        p = as_convention(cr, range, convention)
        q = as_convention(c, range, convention)
        t0 = time.perf_counter()
        out[convention] = {
            "emd": emd(p, q, bins, range, convention),
            "jsd": jsd(p, q),
        }
        logger.debug(
            "scores (%s): %s in %.3g s",
            convention,
            out[convention],
            time.perf_counter() - t0,
        )
    return out
