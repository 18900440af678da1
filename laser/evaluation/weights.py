"""Diagnostics of the DCTR weights w = f/(1-f): effective sample size, calibration,
and for the toys their agreement with the exact weights p_data/p_g.

LaSeR and HMC sample the latent space reweighted by w(g(z)) (arXiv:2106.00792,
Sec. 3), so they can be no better than these weights. Three views of them:
Kish's effective sample size of the weighted baseline sample (how much the
weights cost in statistics), the classifier's calibration on held-out points
(whether f is a probability, as w = f/(1-f) assumes), and, where the data
density is known, the learned log-weights against the exact ones.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.special import expit, logsumexp
from torch import nn

from laser.data import toys as datasets
from laser.evaluation import plots
from laser.latent import oracle
from laser.models import classifier, generators
from laser.models.classifier import Classifier
from laser.seeding import derive_seed

__all__ = [
    "QUANTILES",
    "SUMMARY_COLUMNS",
    "CALIBRATION_COLUMNS",
    "kish_ess",
    "weight_quantiles",
    "calibration_curve",
    "calibration_error",
    "log_weight_agreement",
    "calibration_logits",
    "summary",
    "diagnose",
]

log = logging.getLogger(__name__)

#: Quantiles of w reported in the summary (as columns w_p<percent>).
QUANTILES = (0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999)

#: Columns of the summary table (one row per dataset).
SUMMARY_COLUMNS = [
    "dataset",
    "n",
    "ess",
    "ess_exact",
    "w_mean",
    "w_min",
    *(f"w_p{100 * q:g}" for q in QUANTILES),
    "w_max",
    "clamped",
    "log_w_corr",
    "log_w_mad",
    "n_calibration",
    "calibration_error",
]

#: Columns of the calibration curve (one row per bin of f).
CALIBRATION_COLUMNS = [
    "f_lo",
    "f_hi",
    "f_mean",
    "observed",
    "n_data",
    "n_generated",
]


def kish_ess(log_w: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2 as a fraction of N.

    1 for equal weights, k/N when k of N weights are equal and the rest zero.
    Computed from log-weights, shifted by their maximum, so that weights up to
    e^30 (and beyond) neither overflow nor lose precision.

    Args:
        log_w: log-weights (N,); -inf is a zero weight.

    Returns:
        The fraction in (0, 1].

    Examples:
        >>> round(kish_ess(np.log([1.0, 2.0, 3.0])), 4)  # 36 / (3 * 14)
        0.8571

    References:
        L. Kish, Survey Sampling (Wiley, 1965), Sec. 11.7.
    """
    log_w = np.asarray(log_w, dtype=np.float64)
    if log_w.ndim != 1 or len(log_w) == 0:
        raise ValueError(f"log_w must be a non-empty 1D array, got {log_w.shape}")
    if np.isnan(log_w).any() or np.isposinf(log_w).any() or np.isneginf(log_w).all():
        raise ValueError("log_w must be finite or -inf, and not all -inf")
    return float(np.exp(2 * logsumexp(log_w) - logsumexp(2 * log_w)) / len(log_w))


def weight_quantiles(
    log_w: np.ndarray, quantiles: Sequence[float] = QUANTILES
) -> dict[str, float]:
    """Mean, minimum, quantiles and maximum of w = exp(log_w) (N,).

    Returns:
        {"w_mean", "w_min", "w_p<percent>" per quantile, "w_max"}. For a
        density ratio E_g[w] = 1, so `w_mean` far from 1 flags a bad classifier
        (or too few points where w is large).
    """
    w = np.exp(np.asarray(log_w, dtype=np.float64))
    out = {"w_mean": float(w.mean()), "w_min": float(w.min())}
    for q, v in zip(quantiles, np.quantile(w, quantiles), strict=True):
        out[f"w_p{100 * q:g}"] = float(v)
    out["w_max"] = float(w.max())
    return out


def calibration_curve(
    logit_data: np.ndarray, logit_gen: np.ndarray, bins: int = 20
) -> pd.DataFrame:
    """The classifier's reliability curve on held-out data and generated points.

    Points are binned by f = sigmoid(logit) in `bins` equal bins of [0, 1]. In
    each bin the observed fraction of data is compared with the mean predicted
    f, both at equal class priors (each class weighted by 1 / its size), the
    priors the classifier was trained at: a calibrated classifier has
    observed = f_mean in every bin, and only then is f/(1-f) the density ratio
    p_data/p_g (arXiv:2106.00792, Sec. 3).

    Args:
        logit_data: logits (N,) of held-out data points (label 1).
        logit_gen: logits (M,) of held-out generated points (label 0).
        bins: bins of f (>= 1).

    Returns:
        One row per bin, columns `CALIBRATION_COLUMNS`: the bin's edges f_lo,
        f_hi, mean predicted f, observed fraction of data (both NaN in an empty
        bin) and the points of each class in it.

    References:
        Niculescu-Mizil, Caruana, "Predicting good probabilities with
        supervised learning", ICML 2005 (reliability diagrams).
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    f_d = expit(np.asarray(logit_data, dtype=np.float64))  # (N,)
    f_g = expit(np.asarray(logit_gen, dtype=np.float64))  # (M,)
    if len(f_d) == 0 or len(f_g) == 0:
        raise ValueError("both classes need points for a calibration curve")
    edges = np.linspace(0.0, 1.0, bins + 1)

    def per_bin(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.clip(np.searchsorted(edges, f, side="right") - 1, 0, bins - 1)
        return np.bincount(idx, minlength=bins), np.bincount(idx, f, minlength=bins)

    (n_d, s_d), (n_g, s_g) = per_bin(f_d), per_bin(f_g)
    r_d, r_g = n_d / len(f_d), n_g / len(f_g)  # each class's share in the bin
    total = r_d + r_g
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.where(total > 0, r_d / total, np.nan)
        f_mean = np.where(total > 0, (s_d / len(f_d) + s_g / len(f_g)) / total, np.nan)
    return pd.DataFrame(
        {
            "f_lo": edges[:-1],
            "f_hi": edges[1:],
            "f_mean": f_mean,
            "observed": observed,
            "n_data": n_d,
            "n_generated": n_g,
        },
        columns=CALIBRATION_COLUMNS,
    )


def calibration_error(curve: pd.DataFrame) -> float:
    """Expected calibration error of a curve from :func:`calibration_curve`.

    sum over bins of |observed - f_mean|, each bin weighted by its share of
    the points (at equal class priors): 0 for a calibrated classifier, plus
    the binomial noise of the finite sample.

    References:
        Naeini, Cooper, Hauskrecht, "Obtaining well calibrated probabilities
        using Bayesian binning", AAAI 2015.
    """
    share = (
        curve["n_data"] / curve["n_data"].sum()
        + curve["n_generated"] / curve["n_generated"].sum()
    ) / 2
    gap = (curve["observed"] - curve["f_mean"]).abs().fillna(0.0)
    return float((share * gap).sum())


def log_weight_agreement(
    log_w: np.ndarray, log_w_exact: np.ndarray
) -> dict[str, float]:
    """Pearson correlation and mean absolute difference of learned and exact
    log-weights at the same points (N,).

    Returns:
        {"log_w_corr", "log_w_mad"}: 1 and 0 for a perfect classifier.
    """
    a = np.asarray(log_w, dtype=np.float64)
    b = np.asarray(log_w_exact, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"log-weights of different shapes: {a.shape}, {b.shape}")
    corr = np.corrcoef(a, b)[0, 1] if a.std() > 0 and b.std() > 0 else np.nan
    return {"log_w_corr": float(corr), "log_w_mad": float(np.abs(a - b).mean())}


def calibration_logits(
    clf: Classifier,
    flow: nn.Module,
    dataset: str,
    n: int,
    seed: int,
    data: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Classifier logits of held-out points: a fresh draw of n data points (for
    a toy; for events the first n of `data`, events the classifier never saw)
    and a fresh draw of n points x = g(z), each with its own seed derived from
    `seed`.

    Independent of the training, classifier, truth and evaluation samples
    (which are drawn with other seeds), as held-out points must be.

    Returns:
        (logit_data, logit_gen), each (n,) float64, clamped like the weights.
    """
    if data is None:
        x_data = datasets.sample(dataset, n, derive_seed(seed, "data"))
    else:
        x_data, n = data[:n], min(n, len(data))
    _, x_gen = generators.sample(flow, n, derive_seed(seed, "generated"))
    return classifier.logits(clf, x_data), classifier.logits(clf, x_gen)


def summary(
    dataset: str,
    log_w: np.ndarray,
    curve: pd.DataFrame,
    log_w_exact: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row of weight diagnostics, columns `SUMMARY_COLUMNS`.

    Args:
        dataset: dataset name.
        log_w: learned log-weights (N,) of the baseline's (DCTR) sample.
        curve: the classifier's calibration curve (:func:`calibration_curve`).
        log_w_exact: exact log-weights (N,) at the same points, or None where
            the data density is unknown (then `ess_exact`, `log_w_corr` and
            `log_w_mad` are empty).

    Returns:
        `ess` (Kish, a fraction of `n`), `ess_exact` (the same for the exact
        weights: the best a perfect classifier allows), the quantiles of w,
        `clamped` (the fraction of log-weights at +-LOGIT_BOUND), the agreement
        with the exact log-weights, `n_calibration` (held-out points per class)
        and `calibration_error` (:func:`calibration_error`).
    """
    log_w = np.asarray(log_w, dtype=np.float64)
    row: dict[str, object] = {
        "dataset": dataset,
        "n": len(log_w),
        "ess": kish_ess(log_w),
        "ess_exact": np.nan if log_w_exact is None else kish_ess(log_w_exact),
        **weight_quantiles(log_w),
        "clamped": float(np.mean(np.abs(log_w) >= classifier.LOGIT_BOUND)),
        "log_w_corr": np.nan,
        "log_w_mad": np.nan,
        "n_calibration": int(curve["n_data"].sum()),
        "calibration_error": calibration_error(curve),
    }
    if log_w_exact is not None:
        row.update(log_weight_agreement(log_w, log_w_exact))
    log.info("%s weights: %s", dataset, row)
    return pd.DataFrame([row], columns=SUMMARY_COLUMNS)


def diagnose(
    g: torch.nn.Module,
    clf: Classifier,
    dataset: str,
    dctr: dict[str, np.ndarray],
    n_calibration: int,
    seed: int,
    bins: int,
    data: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """The weight diagnostics of one dataset: :func:`summary`, the calibration
    curve on held-out points (:func:`calibration_logits`) and the figure.

    For a toy and a generator with a density (a RealNVP, not a GAN), the learned
    log-weights of the DCTR points are compared with the exact log(p_data / p_g)
    (:func:`laser.latent.oracle.exact_log_weights`).

    Args:
        g: the baseline generator.
        clf: the classifier.
        dataset: the dataset's name.
        dctr: the DCTR samples, with ``x`` and ``log_w``.
        n_calibration: held-out points per class.
        seed: seeds the held-out points.
        bins: bins of the calibration curve.
        data: held-out data events for a dataset that is not a toy (its
            independent truth sample); None: fresh draws of the toy.

    Returns:
        (summary table, calibration curve, figure).
    """
    exact = (
        oracle.exact_log_weights(g, dataset, dctr["x"])
        if generators.has_density(g) and data is None
        else None
    )
    held_out = calibration_logits(clf, g, dataset, n_calibration, seed, data)
    curve = calibration_curve(*held_out, bins=bins)
    table = summary(dataset, dctr["log_w"], curve, exact)
    title = f"{dataset.replace('_', ' ')}: weights w = f/(1-f) of the classifier"
    fig = plots.weight_figure(dctr["log_w"], curve, table.iloc[0], exact, title)
    return table, curve, fig
