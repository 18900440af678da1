"""Scores of every method against the truth, beside the noise floor and Table 3."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from laser import metrics

__all__ = ["PAPER_TABLE3", "COLUMNS", "score_methods", "table3"]

log = logging.getLogger(__name__)

# Table 3 of arXiv:2106.00792 (paper convention): (EMD, JSD) per dataset and method.
PAPER_TABLE3: dict[tuple[str, str], tuple[float, float]] = {
    ("gaussians", "baseline"): (0.28, 0.66),
    ("gaussians", "hmc"): (0.22, 0.12),
    ("gaussians", "laser"): (0.21, 0.24),
    ("gaussians", "dctr"): (0.09, 0.09),
    ("double_donut", "baseline"): (0.23, 0.27),
    ("double_donut", "hmc"): (0.06, 0.07),
    ("double_donut", "laser"): (0.09, 0.09),
    ("double_donut", "dctr"): (0.11, 0.05),
    ("rings", "baseline"): (0.067, 0.21),
    ("rings", "hmc"): (0.137, 0.07),
    ("rings", "laser"): (0.047, 0.08),
    ("rings", "dctr"): (0.037, 0.04),
}

COLUMNS = [
    "dataset",
    "method",
    "convention",
    "emd",
    "jsd",
    "floor_emd",
    "floor_jsd",
    "paper_emd",
    "paper_jsd",
]


def score_methods(
    dataset: str,
    truth: np.ndarray,
    truth_test: np.ndarray,
    samples: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
    bins: int,
    range: Sequence[Sequence[float]],
    dims: Sequence[int] = (0, 1),
) -> pd.DataFrame:
    """EMD and JSD of each method's sample against the truth (Sec. 4.2).

    The independent truth sample is scored like a method (`truth`): its scores
    are the noise floor, repeated beside every row as `floor_emd`, `floor_jsd`.
    Paper rows carry Table 3's values where it has one.

    Args:
        dataset: dataset name (for the table and Table 3 lookup).
        truth: the reference sample (N, D).
        truth_test: an independent truth sample (N, D).
        samples: method name -> (x (M, D), weights (M,) or None).
        bins: bins per axis.
        range: histogram range [[x0, x1], [y0, y1]].
        dims: the two data columns histogrammed.

    Returns:
        The long-format metrics table, columns `COLUMNS`.
    """
    cols = list(dims)

    def counts(x: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        return metrics.histogram2d(x[:, cols], bins, range, weights=w)

    ref = counts(truth)
    scored = {"truth": metrics.scores(ref, counts(truth_test), range)}
    for method, (x, w) in samples.items():
        scored[method] = metrics.scores(ref, counts(x, w), range)
        log.info("%s %s: %s", dataset, method, scored[method])
    rows = []
    for method, by_convention in scored.items():
        for convention, s in by_convention.items():
            paper = (
                PAPER_TABLE3.get((dataset, method)) if convention == "paper" else None
            )
            rows.append(
                {
                    "dataset": dataset,
                    "method": method,
                    "convention": convention,
                    "emd": s["emd"],
                    "jsd": s["jsd"],
                    "floor_emd": scored["truth"][convention]["emd"],
                    "floor_jsd": scored["truth"][convention]["jsd"],
                    "paper_emd": paper[0] if paper else np.nan,
                    "paper_jsd": paper[1] if paper else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def table3(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """All datasets' metrics in one table: paper convention first, then by dataset."""
    df = pd.concat(tables, ignore_index=True)
    order = {m: i for i, m in enumerate(["truth", "baseline", "hmc", "laser", "dctr"])}
    conventions = {c: i for i, c in enumerate(metrics.CONVENTIONS)}
    df = df.assign(
        _c=df["convention"].map(conventions),
        _m=df["method"].map(lambda m: order.get(m, len(order))),
    ).sort_values(["_c", "dataset", "_m"], kind="stable")
    return df.drop(columns=["_c", "_m"]).reset_index(drop=True)
