"""Tests of laser.evaluation.twosample: the classifier two-sample AUC."""

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from laser.evaluation.twosample import (
    classifier_auc,
    hanley_mcneil_error,
    weighted_auc,
)

FAST = {"hidden_layers": 2, "hidden_units": 32, "epochs": 8, "batch_size": 256}


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(99)


def test_weighted_auc_matches_sklearn(rng):
    sp, sn = rng.normal(0.5, size=300), rng.normal(size=200)
    sp[:20] = sn[:20]  # ties
    wp, wn = rng.uniform(0.1, 2, 300), rng.uniform(0.1, 2, 200)
    y = np.r_[np.ones(300), np.zeros(200)]
    s = np.r_[sp, sn]
    assert weighted_auc(sp, sn) == pytest.approx(roc_auc_score(y, s))
    assert weighted_auc(sp, sn, wp, wn) == pytest.approx(
        roc_auc_score(y, s, sample_weight=np.r_[wp, wn])
    )


def test_weighted_auc_signed():
    # positives 1 (w 2) and 3 (w -1) vs a negative at 2: (2*0 - 1*1) / (1*1) = -1
    assert weighted_auc([1.0, 3.0], [2.0], [2.0, -1.0]) == pytest.approx(-1.0)


def test_hanley_mcneil():
    # at A = 0.5 the variance is (n_pos + n_neg + 1) / (12 n_pos n_neg)
    assert hanley_mcneil_error(0.5, 100, 200) == pytest.approx(
        np.sqrt(301 / (12 * 100 * 200))
    )


def test_same_distribution_auc_half(rng):
    x, y = rng.normal(size=(8000, 3)), rng.normal(size=(8000, 3))
    auc, err = classifier_auc(x, y, seed=0, **FAST)
    assert 0 < err < 0.02
    assert abs(auc - 0.5) < 4 * err


def test_separated_gaussians_bayes_auc(rng):
    d = 1.0
    x = rng.normal(size=(16_000, 2))
    y = rng.normal(size=(16_000, 2)) + [0.0, d]
    auc, err = classifier_auc(x, y, seed=1, **FAST)
    bayes = norm.cdf(d / np.sqrt(2))  # 0.760
    assert auc == pytest.approx(bayes, abs=4 * err + 0.01)
    assert auc <= bayes + 4 * err


def test_reweighting_restores_half(rng):
    shift = 0.6
    x = rng.normal(size=(12_000, 2))
    y = rng.normal(size=(12_000, 2)) + [shift, 0.0]
    auc0, err0 = classifier_auc(x, y, seed=2, **FAST)
    assert auc0 > 0.5 + 5 * err0
    w = np.exp(-shift * y[:, 0] + shift**2 / 2)  # N(shift, 1) -> N(0, 1)
    auc, err = classifier_auc(x, y, None, w, seed=2, **FAST)
    assert abs(auc - 0.5) < 4 * err


def test_signed_weights_run(rng):
    x, y = rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2))
    w = np.where(rng.random(2000) < 0.1, -1.0, 1.0)
    auc, err = classifier_auc(x, y, w, None, seed=3, **{**FAST, "epochs": 2})
    assert np.isfinite(auc) and np.isfinite(err)
    assert abs(auc - 0.5) < 0.1


def test_bad_inputs(rng):
    x = rng.normal(size=(100, 2))
    with pytest.raises(ValueError, match="columns"):
        classifier_auc(x, x[:, :1], seed=0)
    with pytest.raises(ValueError, match="sum > 0"):
        classifier_auc(x, x, -np.ones(100), seed=0)
