"""Tests of laser.evaluation.distances and laser.evaluation.fpd: W1, JSD, FPD, KPD."""

import numpy as np
import pytest
from scipy import linalg, stats
from scipy.optimize import curve_fit

from laser.evaluation import fpd as physics
from laser.evaluation.distances import feature_jsd, wasserstein_1d
from laser.evaluation.fpd import fpd, frechet_distance, kpd

SMALL_FPD = {"min_samples": 500, "max_samples": 2000, "num_batches": 5}
SMALL_KPD = {"batch_size": 500}


# ---------------------------------------------- JetNet transcription (reference)
# A direct transcription of jetnet/evaluation/gen_metrics.py (jet-net/JetNet at
# 6ca12b7, functions _calculate_frechet_distance, fpd, _kpd_batches, kpd), with
# normalise=False and without numba/torch.


def _jn_frechet(mu1, sigma1, mu2, sigma2, eps=1e-6):
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))  # JetNet: disp=False
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def _jn_fpd(X, Y, min_samples, max_samples, num_batches=20, num_points=10, seed=42):
    batches = (
        1 / np.linspace(1.0 / min_samples, 1.0 / max_samples, num_points)
    ).astype("int32")
    rng = np.random.default_rng(seed)
    vals = []
    for batch_size in batches:
        val_points = []
        for _ in range(num_batches):
            rand1 = rng.choice(len(X), size=batch_size)
            rand2 = rng.choice(len(Y), size=batch_size)
            s1, s2 = X[rand1], Y[rand2]
            val_points.append(
                _jn_frechet(
                    np.mean(s1, axis=0),
                    np.cov(s1, rowvar=False),
                    np.mean(s2, axis=0),
                    np.cov(s2, rowvar=False),
                )
            )
        vals.append(np.mean(val_points))
    params, covs = curve_fit(
        lambda x, a, b: a + b * x, 1 / batches, vals, bounds=([0, 0], [np.inf, np.inf])
    )
    return params[0], np.sqrt(np.diag(covs)[0])


def _jn_mmd(X, Y, degree=4):
    def k(a, b):
        return (a @ b.T / a.shape[-1] + 1.0) ** degree

    XX, YY, XY = k(X, X), k(Y, Y), k(X, Y)
    m, n = XX.shape[0], YY.shape[0]
    return (
        (XX.sum() - np.trace(XX)) / (m * (m - 1))
        + (YY.sum() - np.trace(YY)) / (n * (n - 1))
        - 2 * np.mean(XY)
    )


def _jn_kpd(X, Y, num_batches=10, batch_size=5000, seed=42):
    vals = []
    for i in range(num_batches):
        rng = np.random.default_rng(seed + i * 1000)
        rand1 = rng.choice(len(X), size=batch_size)
        rand2 = rng.choice(len(Y), size=batch_size)
        vals.append(_jn_mmd(X[rand1], Y[rand2]))
    return np.median(vals), stats.iqr(vals, rng=(16.275, 83.725)) / 2


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def _repeat(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    return np.repeat(x, k, axis=0)


# ------------------------------------------------------------------------ W1


def test_w1_matches_scipy(rng):
    a, b = rng.normal(size=300), rng.exponential(size=200)
    wa, wb = rng.uniform(0.1, 3, 300), rng.uniform(0.1, 3, 200)
    assert wasserstein_1d(a, b) == pytest.approx(stats.wasserstein_distance(a, b))
    assert wasserstein_1d(a, b, wa, wb) == pytest.approx(
        stats.wasserstein_distance(a, b, wa, wb), rel=1e-12
    )


def test_w1_closed_forms(rng):
    a, b = rng.normal(0.0, 1.5, 200_000), rng.normal(0.7, 1.5, 200_000)
    assert wasserstein_1d(a, b) == pytest.approx(0.7, abs=0.02)
    assert wasserstein_1d(a, a + 2.5) == pytest.approx(2.5, rel=1e-12)
    assert wasserstein_1d(a + 3.0, b + 3.0) == pytest.approx(
        wasserstein_1d(a, b), rel=1e-9
    )


def test_w1_integer_weights_equal_repeats(rng):
    a, b = rng.normal(size=50), rng.normal(0.3, size=60)
    k = rng.integers(1, 5, 50)
    assert wasserstein_1d(a, b, k, None) == pytest.approx(
        wasserstein_1d(np.repeat(a, k), b), rel=1e-12
    )


def test_w1_signed_weights():
    # F_a with weights (2, -1) at (0, 1): 2 on [0, 1), 1 after; F_b = 1 at 0.5
    assert wasserstein_1d([0.0, 1.0], [0.5], [2.0, -1.0]) == pytest.approx(
        0.5 * 2 + 0.5 * 1
    )
    with pytest.raises(ValueError, match="positive sum"):
        wasserstein_1d([0.0, 1.0], [0.5], [1.0, -1.0])


# ----------------------------------------------------------------------- JSD


def test_feature_jsd(rng):
    a = rng.normal(size=5000)
    assert feature_jsd(a, a, 20, (-4, 4)) == pytest.approx(0.0, abs=1e-15)
    far = feature_jsd(a, a + 100, 20, (-4, 200))
    assert far == pytest.approx(np.log(2))
    k = rng.integers(1, 4, 5000)
    b = rng.normal(0.5, size=3000)
    assert feature_jsd(a, b, 30, (-4, 4), wa=k) == pytest.approx(
        feature_jsd(np.repeat(a, k), b, 30, (-4, 4)), rel=1e-12
    )


def test_feature_jsd_negative_bins():
    a = np.array([0.1, 0.2, 0.6, 0.9])
    w = np.array([1.0, 1.0, -2.0, 3.0])  # bin [0.5, 1) nets 1, bin [0.5, 0.75) -2
    with pytest.raises(ValueError, match="1 of 4 bins with negative"):
        feature_jsd(a, a, 4, (0, 1), wa=w)


# ----------------------------------------------------------------------- FPD


def test_frechet_closed_forms():
    mu1, mu2 = np.array([1.0, 2.0, -1.0]), np.array([0.0, 0.5, 1.0])
    eye = np.eye(3)
    assert frechet_distance(mu1, eye, mu2, eye) == pytest.approx(
        np.sum((mu1 - mu2) ** 2)
    )
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    expected = np.sum((s1 - s2) ** 2) + np.sum((mu1 - mu2) ** 2)
    got = frechet_distance(mu1, np.diag(s1**2), mu2, np.diag(s2**2))
    assert got == pytest.approx(expected)
    assert frechet_distance(0.0, 4.0, 1.0, 1.0) == pytest.approx(1 + 1)


def test_fpd_same_and_shifted(rng):
    x, y = rng.normal(size=(20_000, 3)), rng.normal(size=(20_000, 3))
    val, err = fpd(x, y, seed=0, standardise=False, **SMALL_FPD)
    assert val >= 0 and err >= 0
    assert val < max(5 * err, 5e-3)
    shift = np.array([0.5, 0.0, -0.3])
    val, err = fpd(x, y + shift, seed=0, standardise=False, **SMALL_FPD)
    assert val == pytest.approx(np.sum(shift**2), abs=max(5 * err, 0.02))


def test_fpd_matches_jetnet_transcription(rng):
    x = rng.normal(size=(3000, 4))
    y = rng.normal(size=(2500, 4)) * 1.2 + 0.3
    ours = fpd(x, y, seed=7, standardise=False, **SMALL_FPD)
    ref = _jn_fpd(x, y, 500, 2000, num_batches=5, seed=7)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-14)


def test_fpd_standardise_is_prescaling(rng):
    x = rng.normal(size=(3000, 2)) * [1.0, 100.0] + [0.0, 50.0]
    y = rng.normal(size=(3000, 2)) * [1.1, 90.0] + [0.1, 55.0]
    z, zy = (x - x.mean(0)) / x.std(0), (y - x.mean(0)) / x.std(0)
    kw = {"seed": 3, **SMALL_FPD}
    np.testing.assert_allclose(
        fpd(x, y, **kw), fpd(z, zy, standardise=False, **kw), rtol=1e-8
    )


def test_fpd_integer_weights_equal_repeats(rng):
    x, y = rng.normal(size=(400, 3)), rng.normal(size=(500, 3)) + 0.2
    k = rng.integers(1, 4, 400)
    xr = _repeat(x, k)
    kw = {"seed": 5, **SMALL_FPD}
    np.testing.assert_allclose(  # same draws; standardising rounds differently
        fpd(x, y, k.astype(float), **kw), fpd(xr, y, np.ones(len(xr)), **kw), rtol=1e-6
    )
    kw0 = {**kw, "standardise": False}
    assert fpd(x, y, k.astype(float), **kw0) == fpd(xr, y, np.ones(len(xr)), **kw0)
    # and statistically equal to the unweighted repeats (JetNet's draws)
    v1, e1 = fpd(x, y, k.astype(float), **kw)
    v2, e2 = fpd(xr, y, **kw)
    assert abs(v1 - v2) < 0.05 + 5 * (e1 + e2)


def test_fpd_one_dimension(rng):
    x, y = rng.normal(size=3000), rng.normal(1.0, size=3000)
    val, err = fpd(x[:, None], y[:, None], seed=0, standardise=False, **SMALL_FPD)
    assert val == pytest.approx(1.0, abs=0.1)


# ----------------------------------------------------------------------- KPD


def test_kpd_same_and_different(rng):
    x, y = rng.normal(size=(5000, 3)), rng.normal(size=(5000, 3))
    val, err = kpd(x, y, seed=0, **SMALL_KPD)
    assert abs(val) < max(3 * err, 0.05)
    val2, err2 = kpd(x, y * 1.3 + 0.5, seed=0, **SMALL_KPD)
    assert val2 > 10 * max(err, abs(val)) and val2 > 3 * err2


def test_kpd_matches_jetnet_transcription(rng):
    x = rng.normal(size=(3000, 4))
    y = rng.normal(size=(2500, 4)) * 1.2 + 0.3
    ours = kpd(x, y, seed=11, standardise=False, num_batches=6, batch_size=400)
    ref = _jn_kpd(x, y, num_batches=6, batch_size=400, seed=11)
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_kpd_jetnet_unit_test_values():
    # JetNet's own test: 2-D features of all twos vs zeros, normalised -> 15
    twos, zeros = np.full((1000, 2), 2.0), np.zeros((1000, 2))
    val, err = kpd(twos / 2, zeros, seed=42, standardise=False, batch_size=100)
    assert (val, err) == pytest.approx((15.0, 0.0))
    val, _ = kpd(twos, zeros, seed=42, standardise=False, batch_size=100, degree=3)
    assert val == pytest.approx(125 + 1 - 2)  # (8/2 + 1)^3


def test_kpd_weights(rng):
    x, y = rng.normal(size=(600, 2)), rng.normal(size=(700, 2)) + 0.4
    k = rng.integers(1, 4, 600)
    xr = _repeat(x, k)
    kw = {"seed": 2, **SMALL_KPD}
    np.testing.assert_allclose(
        kpd(x, y, k.astype(float), **kw), kpd(xr, y, np.ones(len(xr)), **kw), rtol=1e-9
    )
    v1, e1 = kpd(x, y, k.astype(float), **kw)
    v2, e2 = kpd(xr, y, **kw)
    assert abs(v1 - v2) < 5 * (e1 + e2) + 0.02


def test_weighted_mmd_unit_weights_is_unbiased_estimator(rng):
    x, y = rng.normal(size=(50, 3)), rng.normal(size=(40, 3))
    ones_x, ones_y = np.ones(50), np.ones(40)
    assert physics._mmd2(x, y, ones_x, ones_y, 4) == pytest.approx(
        _jn_mmd(x, y), rel=1e-10
    )


def test_bad_weights(rng):
    x = rng.normal(size=(100, 2))
    with pytest.raises(ValueError, match="positive sum"):
        fpd(x, x, -np.ones(100), seed=0)
    with pytest.raises(ValueError, match="shape"):
        kpd(x, x, None, np.ones(3), seed=0)


def test_signed_weights_fpd_kpd(rng):
    x, y = rng.normal(size=(4000, 2)), rng.normal(size=(4000, 2))
    w = np.where(rng.random(4000) < 0.1, -1.0, 1.0)  # NLO-like, net positive
    val, err = fpd(x, y, w, seed=0, **SMALL_FPD)
    assert np.isfinite(val) and val < 0.05
    val, err = kpd(x, y, w, seed=0, **SMALL_KPD)
    assert np.isfinite(val) and abs(val) < 0.2
    with pytest.raises(ValueError, match="signed weights"):
        fpd(x, y, np.r_[np.ones(2001), -np.ones(1999)], seed=0, **SMALL_FPD)
