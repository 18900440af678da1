"""The score table of D-dimensional (weighted) events: every method's sample and an
independent truth sample (the noise floor) against the truth, in long format."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from laser.evaluation.distances import feature_jsd, wasserstein_1d
from laser.evaluation.fpd import fpd, kpd
from laser.evaluation.histograms import histogram2d
from laser.evaluation.metrics import scores
from laser.evaluation.twosample import classifier_auc

__all__ = [
    "COLUMNS",
    "FLOOR_METHOD",
    "default_pairs",
    "default_ranges",
    "score_events",
    "summarise",
]

logger = logging.getLogger(__name__)

#: Columns of the table returned by :func:`score_events`.
COLUMNS: tuple[str, ...] = (
    "dataset",
    "method",
    "metric",
    "feature",
    "value",
    "error",
    "floor",
    "floor_error",
)
#: Method name of the independent truth sample's row (the noise floor).
FLOOR_METHOD = "truth"


def default_pairs(dim: int) -> list[tuple[int, int]]:
    """All column pairs (i < j) for D <= 6, none above (D = 7 already has 21)."""
    return list(combinations(range(dim), 2)) if dim <= 6 else []


def default_ranges(truth: np.ndarray) -> list[tuple[float, float]]:
    """Per feature: the truth's 0.1 and 99.9 percentiles (unweighted), widened by
    5 % of their distance on each side; a constant feature gets +-0.5."""
    lo, hi = np.percentile(truth, [0.1, 99.9], axis=0)  # (D,), (D,)
    out = []
    for a, b in zip(lo, hi, strict=True):
        pad = 0.05 * (b - a) if b > a else 0.5
        out.append((float(a - pad), float(b + pad)))
    return out


def _as_2d(x: np.ndarray, name: str, dim: int | None) -> np.ndarray:
    xa = np.asarray(x, dtype=np.float64)
    if xa.ndim == 1:
        xa = xa[:, None]
    if xa.ndim != 2 or (dim is not None and xa.shape[1] != dim):
        raise ValueError(f"{name} must have shape (N, {dim}), got {xa.shape}")
    return xa


def _scores_of(
    truth: np.ndarray,
    wt: np.ndarray | None,
    x: np.ndarray,
    w: np.ndarray | None,
    *,
    method: str,
    names: Sequence[str],
    pairs: Sequence[tuple[int, int]],
    bins: int,
    pair_bins: int,
    ranges: Sequence[tuple[float, float]],
    seed: int,
    twosample: Mapping[str, Any],
    fpd_kpd: Mapping[str, Mapping[str, Any]],
) -> list[tuple[str, str, float, float]]:
    """(metric, feature, value, error) of one sample against the truth."""
    nan = float("nan")
    rows = []
    for k, name in enumerate(names):
        try:
            w1 = wasserstein_1d(truth[:, k], x[:, k], wt, w)
            v = feature_jsd(truth[:, k], x[:, k], bins, ranges[k], wt, w)
        except ValueError as exc:
            raise ValueError(f"{method}, feature {name!r}: {exc}") from exc
        rows += [("w1", name, w1, nan), ("jsd", name, v, nan)]
    for i, j in pairs:
        rng2 = [list(ranges[i]), list(ranges[j])]
        label = f"{names[i]}|{names[j]}"
        try:
            ct = histogram2d(truth[:, [i, j]], pair_bins, rng2, wt)
            c = histogram2d(x[:, [i, j]], pair_bins, rng2, w)
            s = scores(ct, c, rng2)["normalised"]
        except ValueError as exc:
            raise ValueError(f"{method}, features {label!r}: {exc}") from exc
        rows += [("emd2d", label, s["emd"], nan), ("jsd2d", label, s["jsd"], nan)]
    rows.append(
        ("fpd", "all", *fpd(truth, x, wt, w, seed=seed, **fpd_kpd.get("fpd", {})))
    )
    rows.append(
        ("kpd", "all", *kpd(truth, x, wt, w, seed=seed, **fpd_kpd.get("kpd", {})))
    )
    rows.append(
        ("auc", "all", *classifier_auc(truth, x, wt, w, seed=seed, **twosample))
    )
    return rows


def score_events(
    dataset: str,
    truth: np.ndarray,
    truth_test: np.ndarray,
    samples: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
    *,
    names: Sequence[str],
    pairs: Sequence[tuple[int, int]] | None,
    bins: int,
    ranges: Sequence[tuple[float, float]] | None,
    seed: int,
    truth_weights: np.ndarray | None = None,
    truth_test_weights: np.ndarray | None = None,
    twosample: Mapping[str, Any] | None = None,
    fpd_kpd: Mapping[str, Mapping[str, Any]] | None = None,
    pair_bins: int | None = None,
    sources: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Score every method's sample and the noise floor against the truth.

    Metrics: per feature the 1-D Wasserstein-1 distance (``w1``) and the JSD of
    normalised histograms (``jsd``); per column pair the exact EMD and the JSD
    of normalised 2-D histograms (``emd2d``, ``jsd2d``, feature ``"a|b"``,
    arXiv:2106.00792, Sec. 4.2, ``"normalised"`` convention); over all features
    FPD, KPD (arXiv:2211.10295) and the classifier AUC (feature ``"all"``).
    Histogram metrics have no error (NaN). The first method, ``"truth"``,
    scores ``truth_test`` against ``truth``: its values are the floor, copied
    into ``floor``/``floor_error`` of every row of the same metric and feature.
    The same seed serves every method (common random numbers).

    Args:
        dataset: Name in the ``dataset`` column.
        truth: Truth events (N, D).
        truth_test: Independent truth events (N', D).
        samples: Method name -> (events (M, D), weights (M,) or None).
        names: The D feature names.
        pairs: Column pairs for 2-D metrics; None: :func:`default_pairs`.
        bins: Bins per axis of every histogram.
        ranges: Per feature ``(lo, hi)``; None: :func:`default_ranges`.
        seed: Seed of FPD, KPD and the classifier.
        truth_weights: Optional weights of ``truth`` (N,), signed allowed.
        truth_test_weights: Optional weights of ``truth_test`` (N',).
        twosample: Keyword arguments of
            :func:`~laser.evaluation.twosample.classifier_auc`.
        fpd_kpd: ``{"fpd": {...}, "kpd": {...}}``, keyword arguments of
            :func:`~laser.evaluation.fpd.fpd` and ``kpd``.
        pair_bins: Bins per axis of the pair histograms; None: `bins`.
        sources: Sample name (``truth``, ``truth_test`` or a method) -> the
            file it came from, named in the errors.

    Returns:
        One row per (method, metric, feature) with the columns :data:`COLUMNS`.

    Raises:
        ValueError: On bad shapes or names, a method called ``"truth"``, or a
            histogram with negative bins (the method and feature named, with
            the files in `sources` and their numbers of negative weights: a
            density estimate cannot be negative, so such a histogram is refused).
    """
    xt = _as_2d(truth, "truth", None)
    dim = xt.shape[1]
    if len(names) != dim:
        raise ValueError(f"{len(names)} names for {dim} features")
    if FLOOR_METHOD in samples:
        raise ValueError(f"method name {FLOOR_METHOD!r} is reserved for the floor")
    pairs = default_pairs(dim) if pairs is None else [tuple(p) for p in pairs]
    for i, j in pairs:
        if not (0 <= i < dim and 0 <= j < dim and i != j):
            raise ValueError(f"bad pair {(i, j)} for {dim} features")
    ranges = default_ranges(xt) if ranges is None else [tuple(r) for r in ranges]
    if len(ranges) != dim:
        raise ValueError(f"{len(ranges)} ranges for {dim} features")
    runs = {FLOOR_METHOD: (truth_test, truth_test_weights), **samples}
    records = []
    sources = dict(sources or {})
    for method, (x, w) in runs.items():
        xa = _as_2d(x, method, dim)
        try:
            rows = _scores_of(
                xt,
                truth_weights,
                xa,
                w,
                method=method,
                names=list(names),
                pairs=pairs,
                bins=bins,
                pair_bins=pair_bins or bins,
                ranges=ranges,
                seed=seed,
                twosample=twosample or {},
                fpd_kpd=fpd_kpd or {},
            )
        except ValueError as exc:
            negative = {
                sources.get(name, name): int((np.asarray(v) < 0).sum())
                for name, v in [
                    ("truth", truth_weights),
                    ("truth_test" if method == FLOOR_METHOD else method, w),
                ]
                if v is not None
            }
            where = ", ".join(f"{k}: {n} rows with w < 0" for k, n in negative.items())
            raise ValueError(f"{exc}" + (f" ({where})" if where else "")) from None
        for metric, feature, value, error in rows:
            logger.info(
                "%s %s %s %s: %.6g +- %.3g",
                dataset,
                method,
                metric,
                feature,
                value,
                error,
            )
            records.append((dataset, method, metric, feature, value, error))
    df = pd.DataFrame(records, columns=list(COLUMNS[:6]))
    floor = df[df["method"] == FLOOR_METHOD].set_index(["metric", "feature"])
    key = pd.MultiIndex.from_frame(df[["metric", "feature"]])
    df["floor"] = floor["value"].reindex(key).to_numpy()
    df["floor_error"] = floor["error"].reindex(key).to_numpy()
    return df


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Headline table: per (dataset, method, metric) the means over features of
    ``value`` and ``floor``, and the number of features, in the table's order."""
    out = df.groupby(["dataset", "method", "metric"], sort=False).agg(
        value=("value", "mean"),
        floor=("floor", "mean"),
        n_features=("feature", "size"),
    )
    return out.reset_index()
