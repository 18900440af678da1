"""Distances between the 1-D marginals of (weighted) samples in D dimensions: the
Wasserstein-1 distance and the JSD of histograms, per feature."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from laser.evaluation.metrics import jsd

__all__ = ["wasserstein_1d", "feature_jsd"]

logger = logging.getLogger(__name__)


def _weights(w: np.ndarray | None, n: int, name: str) -> np.ndarray | None:
    """Checked float64 weights (n,), signed allowed, positive sum; None stays None."""
    if w is None:
        return None
    wa = np.asarray(w, dtype=np.float64)
    if wa.shape != (n,):
        raise ValueError(f"{name} has shape {wa.shape}, expected ({n},)")
    if not np.all(np.isfinite(wa)):
        raise ValueError(f"{name} has non-finite entries")
    if not wa.sum() > 0:
        raise ValueError(f"{name} must have a positive sum, got {wa.sum():.6g}")
    return wa


def _sample(x: np.ndarray, name: str, ndim: int) -> np.ndarray:
    xa = np.asarray(x, dtype=np.float64)
    if ndim == 2 and xa.ndim == 1:
        xa = xa[:, None]
    if xa.ndim != ndim or len(xa) < 2:
        raise ValueError(f"{name} must be {ndim}-D with >= 2 rows, got {xa.shape}")
    if not np.all(np.isfinite(xa)):
        raise ValueError(f"{name} has non-finite entries")
    return xa


def wasserstein_1d(
    a: np.ndarray,
    b: np.ndarray,
    wa: np.ndarray | None = None,
    wb: np.ndarray | None = None,
) -> float:
    """Exact Wasserstein-1 distance between two weighted 1-D samples.

    ``W1 = integral |F_a(t) - F_b(t)| dt`` with the weighted empirical CDFs
    ``F(t) = sum_{x_i <= t} w_i / sum_i w_i``, summed exactly over the merged
    sorted support, as :func:`scipy.stats.wasserstein_distance` does. Signed
    weights (NLO events) are allowed; the CDFs may then leave [0, 1].

    Args:
        a: First sample (N,).
        b: Second sample (M,).
        wa: Optional weights of ``a`` (N,); their sum must be > 0.
        wb: Optional weights of ``b`` (M,); their sum must be > 0.

    Returns:
        The distance, in the units of the samples.

    Raises:
        ValueError: On empty or non-finite samples, or weights of the wrong
            shape, non-finite or with a sum <= 0.
    """
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    for name, v in (("a", xa), ("b", xb)):
        if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must be a non-empty finite 1-D array")
    pa = _weights(wa, len(xa), "wa")
    pb = _weights(wb, len(xb), "wb")
    ia, ib = np.argsort(xa, kind="stable"), np.argsort(xb, kind="stable")
    sa, sb = xa[ia], xb[ib]
    support = np.sort(np.concatenate([sa, sb]))  # (N + M,)
    t = support[:-1]

    def cdf(s: np.ndarray, w: np.ndarray | None) -> np.ndarray:
        k = np.searchsorted(s, t, side="right")
        if w is None:
            return k / len(s)
        cum = np.concatenate([[0.0], np.cumsum(w)])
        return cum[k] / cum[-1]

    fa = cdf(sa, None if pa is None else pa[ia])
    fb = cdf(sb, None if pb is None else pb[ib])
    return float(np.sum(np.abs(fa - fb) * np.diff(support)))


def feature_jsd(
    a: np.ndarray,
    b: np.ndarray,
    bins: int,
    range: Sequence[float],
    wa: np.ndarray | None = None,
    wb: np.ndarray | None = None,
) -> float:
    """Jensen-Shannon divergence of two normalised 1-D histograms.

    Both samples are binned with ``bins`` equal bins over ``range`` (values
    outside are dropped), normalised to probabilities and compared with
    :func:`laser.evaluation.metrics.jsd` (arXiv:2106.00792, Sec. 4.2, Eq. 4),
    so the result is bounded by ln 2.

    Args:
        a: First sample (N,).
        b: Second sample (M,).
        bins: Number of bins, >= 1.
        range: ``(lo, hi)`` with ``lo < hi``.
        wa: Optional weights of ``a`` (N,), signed allowed.
        wb: Optional weights of ``b`` (M,), signed allowed.

    Returns:
        The divergence in nats.

    Raises:
        ValueError: If a histogram has bins with negative net weight (their
            number is given), is empty, or on bad inputs.
    """
    lo, hi = (float(v) for v in range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"range must be finite with lo < hi, got {range!r}")
    hists = []
    for name, x, w in (("a", a, wa), ("b", b, wb)):
        xa = np.asarray(x, dtype=np.float64)
        w = _weights(w, len(xa), f"w{name}")
        h, _ = np.histogram(xa, bins=bins, range=(lo, hi), weights=w)
        neg = int(np.sum(h < 0))
        if neg:
            raise ValueError(
                f"histogram of {name} has {neg} of {bins} bins with negative net "
                f"weight (min {h.min():.6g})"
            )
        if not h.sum() > 0:
            raise ValueError(f"histogram of {name} is empty over {(lo, hi)}")
        hists.append(h / h.sum())
    return jsd(hists[0], hists[1])
