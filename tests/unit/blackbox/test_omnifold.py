"""Tests of laser.blackbox.omnifold (the OmniFold pull-back) and of the weighted
classifier.

The known answer: g(z) = a z + shift + sigma eps (laser.blackbox.GaussianSmear)
with z ~ N(0, I), and data made by the same g from z ~ N(mu, I). The exact
latent weights are nu*(z) = N(z; mu, I) / N(z; 0, I) = exp(mu.z - |mu|^2 / 2),
and every OmniFold iterate is known in closed form: if nu_{n-1} tilts z to
N(b, I), step 1's ratio is exp(((mu - b).x - (|mu|^2 - |b|^2) / 2) / (1 + s))
(s = sigma^2, a = 1), its average over the smearing at fixed z tilts z by
(mu - b) / (1 + s) more, so nu_n tilts z to N(b_n, I) with
b_n = b_{n-1} + (mu - b_{n-1}) / (1 + s): geometric convergence to mu, at rate
s / (1 + s) (one iteration suffices for a small sigma; with sigma = 1,
b_n = mu (1 - 2^-n)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from laser.blackbox import omnifold
from laser.blackbox.base import generate
from laser.blackbox.boxes import GaussianSmear
from laser.blackbox.omnifold import OmniFoldConfig
from laser.models import classifier
from laser.models.classifier import LOGIT_BOUND, ClassifierConfig
from laser.training import OptimConfig
from laser.workflow import settings

pytestmark = pytest.mark.usefixtures("one_thread")

ARCH = ClassifierConfig(hidden_layers=3, hidden_units=32)
OPT = OptimConfig(epochs=10, batch_size=1000, lr=3e-3, lr_decay=0.9)


def _config(iterations: int, opt: OptimConfig = OPT) -> OmniFoldConfig:
    return OmniFoldConfig(
        iterations=iterations, step1=ARCH, step1_optim=opt, step2=ARCH, step2_optim=opt
    )


def _pairs(
    box: GaussianSmear, mu: np.ndarray, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generated pairs (z ~ N(0, I), x = g(z)) and data x = g(z ~ N(mu, I))."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, box.latent_dim)).astype(np.float32)  # (n, L)
    z_data = rng.normal(mu, 1.0, (n, box.latent_dim))  # (n, L)
    return z, generate(box, z, seed + 1), generate(box, z_data, seed + 2)


# --- weighted classifier ------------------------------------------------------


def test_weighted_classes_give_the_weighted_density_ratio():
    """Both classes are N(0, 1) points; the data class weighted by
    5 exp(mu x - mu^2 / 2) is N(mu, 1), so the logit must be mu x - mu^2 / 2.
    The factor 5 (unequal sums of weights) would offset an uncorrected logit by
    log 5 = 1.61; unweighted, the logit would be ~0 (slope 0, not 0.7).
    Observed: mean absolute error 0.019, bias 0.0002 on the bulk."""
    mu = 0.7
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20_000, 1))
    x_gen = rng.standard_normal((20_000, 1))
    w = 5.0 * np.exp(mu * x[:, 0] - mu**2 / 2)
    model = classifier.train(x, x_gen, ARCH, OPT, seed=1, w_data=w)
    grid = np.linspace(-1.5, 2.0, 41)[:, None]
    pred = classifier.logits(model, grid)
    true = mu * grid[:, 0] - mu**2 / 2
    assert abs((pred - true).mean()) < 0.1
    assert np.abs(pred - true).mean() < 0.08


def test_unit_weights_match_unweighted_training():
    """Weights of ones train the same classifier as no weights (to rounding)."""
    rng = np.random.default_rng(1)
    x_data, x_gen = rng.normal(0, 1, (3000, 2)), rng.normal(0.5, 1, (2000, 2))
    opt = OptimConfig(epochs=2, batch_size=500)
    plain = classifier.train(x_data, x_gen, ARCH, opt, seed=1)
    ones = classifier.train(x_data, x_gen, ARCH, opt, seed=1, w_gen=np.ones(2000))
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(value, ones.state_dict()[key], atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"w_data": np.ones(9)}, r"w_data has shape \(9,\), expected \(10,\)"),
        ({"w_gen": np.array([1.0] * 5 + [np.nan] * 3)}, r"w_gen\[5\] = nan"),
        ({"w_gen": np.array([1.0, -1.0] + [1.0] * 6)}, r"w_gen\[1\] = -1.0"),
        ({"w_data": np.zeros(10)}, "w_data sums to zero"),
    ],
)
def test_bad_weights_raise(kwargs, match):
    x_data, x_gen = np.zeros((10, 2)), np.ones((8, 2))
    with pytest.raises(ValueError, match=match):
        classifier.train(x_data, x_gen, ARCH, OPT, seed=0, **kwargs)


# --- OmniFold against the known answer -------------------------------------------


def test_latent_weights_match_exact_weights_small_smearing():
    """2D, sigma = 0.1, 20k pairs, 2 iterations: nu ~ nu* (the fixed point is
    reached to 1%, b_1 = 0.99 mu).

    Tolerances and observed values (seeds 0 and 1 of the data):
    - mean |log nu - log nu*| on the bulk z ~ N(mu/2, I) < 0.1 (0.024, 0.033),
      correlation > 0.99 (0.999);
    - nu-weighted mean of z within 0.05 of mu (<= 0.011; its Monte Carlo error
      at ESS ~ 0.44 * 20000 is 0.011), weighted variance within 0.1 of 1 (<=
      0.015), where the unweighted mean is 0 (0.94 away);
    - weights of mean 1, and the last iteration's classifiers at log 2 (the
      classes inseparable) within 0.005 (0.0006).
    """
    mu = np.array([0.8, -0.5])
    box = GaussianSmear(a=1.0, sigma=0.1, latent_dim=2)
    z, x, x_data = _pairs(box, mu, 20_000, seed=0)
    result = omnifold.pull_back(z, x, x_data, _config(2), seed=3)

    assert result.log_nu.shape == (20_000,) and result.log_nu.dtype == np.float64
    assert abs(result.weights.mean() - 1.0) < 1e-6  # float32 normalisation
    z_bulk = np.random.default_rng(9).normal(mu / 2, 1.0, (5000, 2))
    pred = omnifold.latent_log_weights(result.latent_weight, z_bulk.astype("f4"))
    true = z_bulk @ mu - mu @ mu / 2
    assert np.abs(pred - true).mean() < 0.1
    assert np.corrcoef(pred, true)[0, 1] > 0.99

    mean = np.average(z, axis=0, weights=result.weights)
    var = np.average((z - mean) ** 2, axis=0, weights=result.weights)
    np.testing.assert_allclose(mean, mu, atol=0.05)
    np.testing.assert_allclose(var, 1.0, atol=0.1)

    table = result.table
    assert list(table.columns) == omnifold.TABLE_COLUMNS
    assert table["iteration"].tolist() == [1, 2]
    last = table.iloc[-1]
    assert abs(last["step1_loss"] - np.log(2)) < 0.005
    assert abs(last["step2_loss"] - np.log(2)) < 0.005
    assert table["step1_loss"].iloc[0] < np.log(2) - 0.05  # iteration 1 had work
    assert 0 < last["nu_ess"] <= 1 and 0 < last["omega_ess"] <= 1


def test_iterations_unfold_wide_smearing():
    """1D, sigma = 1, mu = 1, 3 iterations: log nu_n(z) = b_n z - b_n^2 / 2 with
    b_n = 1 - 2^-n = 0.5, 0.75, 0.875 (module docstring). One iteration, the
    classifier weight averaged over the smearing E[w(x) | z], is only half way
    to nu* (slope 1); the iterations must approach it as the closed form says.

    Tolerance 0.06 (half the gap between iterates 2 and 3) on each fitted slope,
    on the mean absolute error of log nu_n over z in [-1.5, 2.5] and on the
    nu_n-weighted mean of z against b_n; the largest errors over five data
    seeds were 0.036, 0.036 and 0.032 (the classifiers' training noise: the
    Monte Carlo error of the mean is 0.009); this seed: slopes off by 0.007,
    0.008, 0.012, mean absolute errors 0.012, 0.020, 0.028, means off by
    0.009, 0.001, 0.001. The rms change of log nu shrinks
    from iteration to iteration.
    """
    box = GaussianSmear(a=1.0, sigma=1.0, latent_dim=1)
    z, x, x_data = _pairs(box, np.array([1.0]), 20_000, seed=0)
    opt = OptimConfig(epochs=10, batch_size=500, lr=2e-3, lr_decay=0.8)
    result = omnifold.pull_back(z, x, x_data, _config(3, opt), seed=3)
    grid = np.linspace(-1.5, 2.5, 41)[:, None].astype(np.float32)
    b = 0.0
    for n in (1, 2, 3):
        b += (1.0 - b) / 2.0
        pred = omnifold.latent_log_weights(result.latent_weight, grid, iterations=n)
        true = b * grid[:, 0] - b**2 / 2
        assert abs(np.polyfit(grid[:, 0], pred, 1)[0] - b) < 0.06, n
        assert np.abs(pred - true).mean() < 0.06, n
        nu_n = np.exp(omnifold.latent_log_weights(result.latent_weight, z, n))
        assert abs(np.average(z[:, 0], weights=nu_n) - b) < 0.05, n
    change = result.table["nu_change"].to_numpy()
    assert change[0] > change[1] > change[2]


def test_deterministic_generator_first_iteration_is_direct_pull_back():
    """sigma = 0: w(x) is a function of z, so nu_1(z) = w(g(z)) of the step-1
    classifier (normalised to mean 1), the direct pull-back of Sec. 3. Data
    N(2, 1.5^2) against g(z) = 2 z + 1. Tolerance 0.08 on the mean absolute
    difference of the log weights (observed 0.021)."""
    box = GaussianSmear(a=2.0, sigma=0.0, shift=1.0, latent_dim=1)
    rng = np.random.default_rng(5)
    z = rng.standard_normal((20_000, 1)).astype(np.float32)
    x = generate(box, z, seed=1)
    x_data = rng.normal(2.0, 1.5, (20_000, 1)).astype(np.float32)
    result = omnifold.pull_back(z, x, x_data, _config(1), seed=3)
    z_new = rng.standard_normal((5000, 1)).astype(np.float32)
    pulled = omnifold.latent_log_weights(result.latent_weight, z_new)
    direct = classifier.logits(result.step1[0], generate(box, z_new, seed=0))
    direct -= np.log(np.mean(np.exp(classifier.logits(result.step1[0], x))))
    assert np.abs(pulled - direct).mean() < 0.08
    # and the step-1 classifier is not trivial: the weights vary by > 1 in log
    assert np.ptp(direct) > 1.0


# --- API, reproducibility and bad input --------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    """A 2-iteration run on 2000 pairs, 2 epochs: for the API, not the science."""
    box = GaussianSmear(a=1.0, sigma=0.3, latent_dim=2)
    z, x, x_data = _pairs(box, np.array([0.5, 0.0]), 2000, seed=4)
    config = _config(2, OptimConfig(epochs=2, batch_size=500))
    return z, x, x_data, config, omnifold.pull_back(z, x, x_data, config, seed=7)


def test_result_is_consistent_and_reproducible(tiny):
    z, x, x_data, config, result = tiny
    # the stored weights are the latent weight function at the generated points
    np.testing.assert_allclose(
        omnifold.latent_log_weights(result.latent_weight, z), result.log_nu, atol=1e-12
    )
    with torch.no_grad():
        torch_log_nu = result.latent_weight(torch.as_tensor(z)).double().numpy()
    np.testing.assert_allclose(torch_log_nu, result.log_nu, atol=1e-4)
    assert abs(np.exp(result.log_omega).mean() - 1.0) < 1e-9
    assert len(result.step1) == 2 and isinstance(result.table, pd.DataFrame)
    assert np.abs(result.log_nu).max() <= LOGIT_BOUND
    again = omnifold.pull_back(z, x, x_data, config, seed=7)
    np.testing.assert_array_equal(again.log_nu, result.log_nu)
    other = omnifold.pull_back(z, x, x_data, config, seed=8)
    assert not np.array_equal(other.log_nu, result.log_nu)


def test_latent_weight_rebuilds_from_hparams(tiny):
    z, *_, result = tiny
    model = result.latent_weight
    rebuilt = omnifold.build(model.hparams)
    rebuilt.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(
        omnifold.latent_log_weights(rebuilt, z), result.log_nu
    )
    assert model.latent_dim == 2 and model.hparams["iterations"] == 2
    with pytest.raises(ValueError, match="not an OmniFold"):
        omnifold.build({"kind": "classifier", "dim": 2})
    with pytest.raises(ValueError, match=r"iterations must be in \[1, 2\]"):
        omnifold.latent_log_weights(model, z, iterations=3)
    with pytest.raises(ValueError, match=r"expected \(N, 2\)"):
        omnifold.latent_log_weights(model, z[:, :1])


def test_config_from_settings():
    config = settings.omnifold(
        {
            "iterations": 4,
            "step1": {"hidden_layers": 2, "hidden_units": 16, "epochs": 3},
            "step2": {"hidden_layers": 5, "lr": 1e-4},
        },
        OmniFoldConfig,
        ClassifierConfig,
    )
    assert config.iterations == 4
    assert config.step1 == ClassifierConfig(hidden_layers=2, hidden_units=16)
    assert config.step1_optim.epochs == 3
    assert config.step2.hidden_layers == 5 and config.step2_optim.lr == 1e-4
    assert settings.omnifold({}, OmniFoldConfig, ClassifierConfig) == OmniFoldConfig()
    with pytest.raises(ValueError, match=r"unknown omnifold key\(s\) \['iteration'\]"):
        settings.omnifold({"iteration": 2}, OmniFoldConfig, ClassifierConfig)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="iterations must be"):
            OmniFoldConfig(iterations=bad)


def test_bad_input_raises():
    z, x, x_data = np.zeros((10, 2)), np.zeros((10, 2)), np.zeros((12, 2))
    config = _config(1, OptimConfig(epochs=1, batch_size=5))
    with pytest.raises(ValueError, match="z_gen has 9 rows but x_gen 10"):
        omnifold.pull_back(z[:9], x, x_data, config, seed=0)
    with pytest.raises(ValueError, match="x_gen has 2 columns but x_data 3"):
        omnifold.pull_back(z, x, np.zeros((12, 3)), config, seed=0)
    with pytest.raises(ValueError, match=r"x_gen must be a non-empty"):
        omnifold.pull_back(z, x[:, 0], x_data, config, seed=0)
    x_nan = x.copy()
    x_nan[7, 1] = np.nan
    with pytest.raises(ValueError, match="x_gen has a non-finite value at row 7"):
        omnifold.pull_back(z, x_nan, x_data, config, seed=0)
    z_inf = z.copy()
    z_inf[3, 0] = np.inf
    with pytest.raises(ValueError, match="z_gen has a non-finite value at row 3"):
        omnifold.pull_back(z_inf, x, x_data, config, seed=0)
