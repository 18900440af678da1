"""Diagnostics of the DCTR weights (laser.evaluation.weights) and their figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from laser.data import toys as datasets
from laser.evaluation import plots, weights
from laser.models import classifier, flows
from laser.models.classifier import LOGIT_BOUND
from laser.seeding import derive_seed


# --------------------------------------------------------------------- Kish ESS
def test_kish_ess_of_known_weights() -> None:
    assert weights.kish_ess(np.zeros(1000)) == pytest.approx(1.0)
    # k equal weights among zeros: k / N
    log_w = np.full(1000, -np.inf)
    log_w[:250] = 0.0
    assert weights.kish_ess(log_w) == pytest.approx(0.25)
    # (1 + 2 + 3)^2 / (3 (1 + 4 + 9)) = 36 / 42
    assert weights.kish_ess(np.log([1.0, 2.0, 3.0])) == pytest.approx(6 / 7)
    # one weight dominating: ESS -> 1 / N
    assert weights.kish_ess(np.array([300.0, 0.0, 0.0, 0.0])) == pytest.approx(0.25)


def test_kish_ess_is_scale_free_and_does_not_overflow() -> None:
    log_w = np.random.default_rng(0).normal(0.0, 0.5, 100_000)
    ess = weights.kish_ess(log_w)
    # log-normal weights: E[w]^2 / E[w^2] = exp(-sigma^2) = 0.779
    assert ess == pytest.approx(np.exp(-0.25), abs=0.01)
    assert weights.kish_ess(log_w + 700.0) == pytest.approx(ess, rel=1e-12)
    assert weights.kish_ess(log_w - 700.0) == pytest.approx(ess, rel=1e-12)


def test_kish_ess_rejects_bad_input() -> None:
    for bad in ([], [np.nan, 0.0], [np.inf, 0.0], [-np.inf, -np.inf]):
        with pytest.raises(ValueError, match="log_w"):
            weights.kish_ess(np.array(bad))


def test_weight_quantiles() -> None:
    log_w = np.log(np.arange(1, 1002, dtype=np.float64))  # w = 1 ... 1001
    q = weights.weight_quantiles(log_w)
    assert q["w_min"] == pytest.approx(1.0) and q["w_max"] == pytest.approx(1001.0)
    assert q["w_p50"] == pytest.approx(501.0)
    assert q["w_p10"] == pytest.approx(101.0) and q["w_p99.9"] == pytest.approx(1000.0)
    assert q["w_mean"] == pytest.approx(501.0)
    assert list(q) == [c for c in weights.SUMMARY_COLUMNS if c.startswith("w_")]


# ------------------------------------------------------------------ calibration
def calibrated_logits(
    n_data: int, n_gen: int, m: float = 2.0, scale: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Logits s with s | data ~ N(m, 2m) and s | generated ~ N(-m, 2m): the log
    ratio of the two is exactly s, so f = sigmoid(s) is perfectly calibrated at
    equal priors. `scale` != 1 makes an over- (> 1) or under-confident one."""
    rng = np.random.default_rng(seed)
    sd = np.sqrt(2 * m)
    return scale * rng.normal(m, sd, n_data), scale * rng.normal(-m, sd, n_gen)


def test_calibrated_predictor_lies_on_the_diagonal() -> None:
    curve = weights.calibration_curve(*calibrated_logits(200_000, 200_000), bins=10)
    assert list(curve.columns) == weights.CALIBRATION_COLUMNS
    assert len(curve) == 10
    np.testing.assert_allclose(curve["f_lo"], np.arange(10) / 10)
    np.testing.assert_allclose(curve["f_hi"], np.arange(1, 11) / 10)
    assert curve["n_data"].sum() == 200_000 and curve["n_generated"].sum() == 200_000
    # every bin holds thousands of points: binomial noise < 0.01
    assert (curve["n_data"] + curve["n_generated"] > 5000).all()
    np.testing.assert_allclose(curve["observed"], curve["f_mean"], atol=0.015)
    assert (
        (curve["f_mean"] >= curve["f_lo"]) & (curve["f_mean"] < curve["f_hi"])
    ).all()
    assert weights.calibration_error(curve) < 0.005


def test_unequal_class_sizes_are_compared_at_equal_priors() -> None:
    """1:4 classes: the raw fraction of data would be ~4x too low; weighting
    each class by 1 / its size keeps a calibrated predictor on the diagonal."""
    curve = weights.calibration_curve(*calibrated_logits(50_000, 200_000), bins=10)
    np.testing.assert_allclose(curve["observed"], curve["f_mean"], atol=0.02)
    assert weights.calibration_error(curve) < 0.008


def test_miscalibrated_predictor_is_detected() -> None:
    over = weights.calibration_curve(*calibrated_logits(100_000, 100_000, scale=2.0))
    under = weights.calibration_curve(*calibrated_logits(100_000, 100_000, scale=0.5))
    assert weights.calibration_error(over) > 0.05
    assert weights.calibration_error(under) > 0.05
    # overconfident: the observed fraction lies nearer 1/2 than f at the ends
    hi = over[over["f_lo"] >= 0.9].iloc[0]
    assert hi["observed"] < hi["f_mean"] - 0.05


def test_empty_bins_are_nan_and_do_not_count() -> None:
    curve = weights.calibration_curve(np.array([3.0, 3.0]), np.array([-3.0]), bins=4)
    assert curve["n_data"].tolist() == [0, 0, 0, 2]
    assert curve["n_generated"].tolist() == [1, 0, 0, 0]
    assert curve["observed"].isna().tolist() == [False, True, True, False]
    assert curve.loc[3, "observed"] == 1.0 and curve.loc[0, "observed"] == 0.0
    # f = sigmoid(3) = 0.953 against observed 1: error 0.047 in each half
    assert weights.calibration_error(curve) == pytest.approx(1 - 1 / (1 + np.exp(-3)))
    with pytest.raises(ValueError, match="bins"):
        weights.calibration_curve(np.zeros(2), np.zeros(2), bins=0)
    with pytest.raises(ValueError, match="both classes"):
        weights.calibration_curve(np.zeros(2), np.zeros(0))


# ------------------------------------------------- agreement and the summary row
def test_log_weight_agreement() -> None:
    exact = np.random.default_rng(1).normal(0.0, 2.0, 5000)
    same = weights.log_weight_agreement(exact, exact)
    assert same == {"log_w_corr": pytest.approx(1.0), "log_w_mad": 0.0}
    off = weights.log_weight_agreement(exact + 0.5, exact)
    assert off["log_w_corr"] == pytest.approx(1.0) and off["log_w_mad"] == 0.5
    flipped = weights.log_weight_agreement(-exact, exact)
    assert flipped["log_w_corr"] == pytest.approx(-1.0)
    assert np.isnan(weights.log_weight_agreement(np.zeros(5), exact[:5])["log_w_corr"])
    with pytest.raises(ValueError, match="shapes"):
        weights.log_weight_agreement(exact[:4], exact[:5])


def test_summary_row() -> None:
    log_w = np.log(np.array([0.5, 1.0, 1.0, 2.0]))
    log_w[0] = -LOGIT_BOUND
    curve = weights.calibration_curve(*calibrated_logits(1000, 1000), bins=5)
    row = weights.summary("gaussians", log_w, curve, log_w + 0.1)
    assert list(row.columns) == weights.SUMMARY_COLUMNS and len(row) == 1
    r = row.iloc[0]
    assert r["n"] == 4 and r["n_calibration"] == 1000
    assert r["clamped"] == 0.25
    assert r["ess"] == pytest.approx(weights.kish_ess(log_w))
    assert r["ess_exact"] == pytest.approx(r["ess"])  # a constant factor
    assert r["log_w_mad"] == pytest.approx(0.1)
    assert r["calibration_error"] == pytest.approx(weights.calibration_error(curve))
    # without exact weights those columns are empty
    r = weights.summary("mine", log_w, curve).iloc[0]
    assert np.isnan(r["ess_exact"]) and np.isnan(r["log_w_corr"])


@pytest.mark.usefixtures("one_thread")
def test_calibration_logits_are_fresh_held_out_points() -> None:
    torch.manual_seed(0)
    flow = flows.RealNVP(2, flows.FlowConfig(n_blocks=1, hidden_units=8))
    clf = classifier.Classifier(2, classifier.ClassifierConfig(1, 8))
    a = weights.calibration_logits(clf, flow, "rings", 500, seed=3)
    b = weights.calibration_logits(clf, flow, "rings", 500, seed=3)
    c = weights.calibration_logits(clf, flow, "rings", 500, seed=4)
    assert a[0].shape == a[1].shape == (500,) and a[0].dtype == np.float64
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[1], c[1])
    # the data logits are those of the toy's points, not of g(z)
    x = datasets.sample("rings", 500, derive_seed(3, "data"))
    np.testing.assert_array_equal(a[0], classifier.logits(clf, x))


# ------------------------------------------------------------------------ figure
@pytest.mark.parametrize("exact", [True, False])
def test_weight_figure(exact: bool) -> None:
    rng = np.random.default_rng(2)
    log_w_exact = rng.normal(0.0, 1.5, 20_000)
    log_w = log_w_exact + rng.normal(0.0, 0.3, 20_000)
    curve = weights.calibration_curve(*calibrated_logits(5000, 5000), bins=10)
    row = weights.summary("gaussians", log_w, curve, log_w_exact if exact else None)
    fig = plots.weight_figure(
        log_w, curve, row.iloc[0], log_w_exact if exact else None, "title"
    )
    # panels: weights, calibration (with its twin axis of counts), learned vs
    # exact (with its colour bar)
    assert len(fig.axes) == (5 if exact else 3)
    assert fig.axes[0].get_yscale() == "log"
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert ("corr 0.98" in titles) == exact
    assert isinstance(curve, pd.DataFrame)
    plots.plt.close(fig)
