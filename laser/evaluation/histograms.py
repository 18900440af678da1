"""2-D histograms of samples, their two normalisation conventions and the ground
cost between bin centres, as the metrics of Sec. 4.2 use them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import ot

__all__ = [
    "CONVENTIONS",
    "as_convention",
    "bin_centres",
    "bin_edges",
    "ground_cost",
    "histogram2d",
]


#: Normalisation conventions of the histograms and ground cost (see module docs).
#: ``"paper"``: numpy ``density=True`` histograms (values sum to 1/bin-area) and a
#: ground cost divided by its maximum, as in the paper's code and its Table 3.
#: ``"normalised"``: probabilities summing to 1 and a ground cost in data units.


# --------------------------------------------------------------------------- checks

#: Normalisation conventions of the histograms and ground cost (see module docs).
#: ``"paper"``: numpy ``density=True`` histograms (values sum to 1/bin-area) and a
#: ground cost divided by its maximum, as in the paper's code and its Table 3.
#: ``"normalised"``: probabilities summing to 1 and a ground cost in data units.
CONVENTIONS: tuple[str, ...] = ("paper", "normalised")


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


# ------------------------------------------------------------------ histograms


def bin_edges(bins: int, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    ex, ey = bin_edges(bins, r)
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
