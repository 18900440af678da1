"""The paper's histogram distances between 2-D samples (Sec. 4.2, Eqs. 4-5): the
Jensen-Shannon divergence and, with :mod:`laser.evaluation.transport`, the EMD, in
both conventions."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

from laser.evaluation.histograms import CONVENTIONS, _check_pair, as_convention
from laser.evaluation.transport import emd

__all__ = ["jsd", "scores"]

logger = logging.getLogger(__name__)


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
