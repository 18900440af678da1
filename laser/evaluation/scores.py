"""Scores of every method against the truth, beside the noise floor and Table 3."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from laser.data.toys import TOYS
from laser.evaluation import histograms, metrics, topology
from laser.methods import method_rank
from laser.seeding import split

__all__ = [
    "PAPER_TABLE3",
    "COLUMNS",
    "BETTI",
    "score_methods",
    "table3",
    "betti_of",
]

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

#: Order of the methods in the table: the truth, the paper's four, then the
#: samplers that are not in the paper; any other method follows in its own order.
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
    "b0",
    "b1",
    "latent_b0",
    "latent_b1",
    "true_b0",
    "true_b1",
    "betti_threshold",
]

#: The integer Betti-number columns: measured in data and latent space, and true.
BETTI = ["b0", "b1", "latent_b0", "latent_b1", "true_b0", "true_b1"]


def score_methods(
    dataset: str,
    truth: np.ndarray,
    truth_test: np.ndarray,
    samples: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
    bins: int,
    range: Sequence[Sequence[float]],
    dims: Sequence[int] = (0, 1),
    latent: Mapping[str, np.ndarray | None] | None = None,
    latent_range: Sequence[Sequence[float]] | None = None,
    chains: Mapping[str, int] | None = None,
    depth: float = 1.0,
) -> pd.DataFrame:
    """EMD, JSD (Sec. 4.2) and Betti numbers (Sec. 2.2) of each method's sample.

    The independent truth sample is scored like a method (`truth`): its scores
    are the noise floor, repeated beside every row as `floor_emd`, `floor_jsd`.
    Paper rows carry Table 3's values where it has one.

    Betti numbers b0, b1 are measured by persistent homology of the histogram
    density on the same grid (:mod:`laser.evaluation.topology`): of the
    data-space sample
    (`b0`, `b1`; for `truth` of the independent truth sample) and of the latent
    sample over `latent_range` (`latent_b0`, `latent_b1`; empty for the truth,
    which has none), both weighted where the method has weights, with the
    persistence threshold `betti_threshold` (T, in noise standard deviations)
    measured on the two truth samples (:func:`laser.evaluation.topology.threshold`).
    `true_b0`, `true_b1` are the toy's (empty for a dataset that is not one of
    the paper's toys). The Betti numbers do not depend on the convention and
    repeat on both rows. The samples of the methods in `chains` are Markov
    chains, stored iteration-major: their threshold is raised by their
    over-dispersion, measured between groups of whole chains
    (:func:`laser.evaluation.topology.overdispersion`); every other sample
    counts as independent draws.

    Args:
        dataset: dataset name (for the table and Table 3 lookup).
        truth: the reference sample (N, D).
        truth_test: an independent truth sample (N, D).
        samples: method name -> (x (M, D), weights (M,) or None).
        bins: bins per axis.
        range: histogram range [[x0, x1], [y0, y1]].
        dims: the two data columns histogrammed.
        latent: method name -> latent sample (M, D') or None; its first two
            columns are used. Methods missing here have no latent Betti numbers.
        latent_range: latent histogram range [[z0, z1], [z0', z1']]; None: no
            latent Betti numbers.
        chains: method -> number of chains of its sample (x and z, draw i of
            chain i % chains); None or a method missing: independent draws.
        depth: the features' least depth (:func:`laser.evaluation.topology.betti`).

    Returns:
        The long-format metrics table, columns `COLUMNS` (`BETTI` as Int64).
    """
    cols = list(dims)
    latent, chains = latent or {}, chains or {}

    def betti_of_sample(
        method: str, x: np.ndarray, w: np.ndarray | None, box: Sequence
    ) -> tuple[int, int]:
        c = chains.get(method)
        groups = None if c is None else topology.chain_groups(len(x), c)
        return topology.betti(x, bins, box, t, w, groups=groups, depth=depth)

    def counts(x: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        return histograms.histogram2d(x[:, cols], bins, range, weights=w)

    ref = counts(truth)
    scored = {"truth": metrics.scores(ref, counts(truth_test), range)}
    t = topology.threshold(truth[:, cols], truth_test[:, cols], bins, range)
    betti = {
        "truth": (
            topology.betti(truth_test[:, cols], bins, range, t, depth=depth),
            None,
        )
    }
    log.info("%s: Betti threshold %.3g sigma, truth %s", dataset, t, betti["truth"][0])
    for method, (x, w) in samples.items():
        scored[method] = metrics.scores(ref, counts(x, w), range)
        z = latent.get(method)
        betti[method] = (
            betti_of_sample(method, x[:, cols], w, range),
            None
            if z is None or latent_range is None
            else betti_of_sample(method, z[:, :2], w, latent_range),
        )
        log.info("%s %s: %s, Betti %s", dataset, method, scored[method], betti[method])
    toy = split(dataset)[0]  # a replica of a study over seeds: its toy
    true = TOYS[toy].betti if toy in TOYS else (pd.NA, pd.NA)
    rows = []
    for method, by_convention in scored.items():
        data_betti, latent_betti = betti[method]
        latent_betti = latent_betti or (pd.NA, pd.NA)
        for convention, s in by_convention.items():
            paper = PAPER_TABLE3.get((toy, method)) if convention == "paper" else None
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
                    "b0": data_betti[0],
                    "b1": data_betti[1],
                    "latent_b0": latent_betti[0],
                    "latent_b1": latent_betti[1],
                    "true_b0": true[0],
                    "true_b1": true[1],
                    "betti_threshold": t,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS).astype(dict.fromkeys(BETTI, "Int64"))


def betti_of(
    table: pd.DataFrame,
) -> dict[str, tuple[tuple[int, int] | None, tuple[int, int] | None]]:
    """Measured Betti numbers per method from a metrics table (`score_methods`).

    Args:
        table: one dataset's metrics table (as written or read back).

    Returns:
        method -> ((b0, b1) in data space, (b0, b1) in latent space), each None
        where the table has none.
    """

    def pair(row: pd.Series, a: str, b: str) -> tuple[int, int] | None:
        if pd.isna(row[a]) or pd.isna(row[b]):
            return None
        return int(row[a]), int(row[b])

    first = table.drop_duplicates("method")
    return {
        row["method"]: (pair(row, "b0", "b1"), pair(row, "latent_b0", "latent_b1"))
        for _, row in first.iterrows()
    }


def table3(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """All datasets' metrics in one table: paper convention first, then by dataset."""
    df = pd.concat(tables, ignore_index=True)
    conventions = {c: i for i, c in enumerate(histograms.CONVENTIONS)}
    df = df.assign(
        _c=df["convention"].map(conventions), _m=df["method"].map(method_rank)
    ).sort_values(["_c", "dataset", "_m"], kind="stable")
    return df.drop(columns=["_c", "_m"]).reset_index(drop=True)
