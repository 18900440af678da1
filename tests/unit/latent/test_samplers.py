"""Rejection sampling and unadjusted Langevin on known targets
(laser.latent.rejection, laser.latent.langevin).

The targets are tilts of the latent prior p = N(0, I), as in LaSeR's
q(z) ~ p(z) w(z):

- a quadratic tilt log w(z) = b.z - z^T A z / 2 (A positive definite) gives
  q = N(mu, Sigma) with Sigma = (I + A)^-1 and mu = Sigma b; its weight is
  bounded, sup log w = b^T A^-1 b / 2, and E_p[w] = det(I + A)^-1/2
  exp(b^T Sigma b / 2), so rejection's acceptance rate E_p[w] / M is exact;
- a linear tilt log w(z) = b.z gives q = N(b, I); its weight is unbounded, so
  a fixed bound M clips it, and the clipped law p min(w, M) has closed-form
  moments (u = b.z ~ N(0, |b|^2)).

Tolerances are 4 Monte Carlo standard errors computed from the sample size
and the exact moments (independent draws: every rejection draw, and one
Langevin draw per chain after a burn-in in which the start is forgotten to
1e-7 or better).
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from laser.latent import diagnostics, langevin, rejection
from laser.latent.integrator import potential_and_grad
from laser.latent.langevin import LangevinConfig, langevin_sample
from laser.latent.rejection import RejectionConfig, rejection_sample
from laser.latent.target import Target
from laser.workflow.config import ConfigError, validate

F64 = torch.float64
A = torch.tensor([[1.0, 0.3], [0.3, 0.6]], dtype=F64)
B = torch.tensor([0.5, -0.3], dtype=F64)
PREC = torch.eye(2, dtype=F64) + A  # precision of q
SIGMA = torch.linalg.inv(PREC)
MU = SIGMA @ B
LOG_SUP_W = 0.5 * float(B @ torch.linalg.solve(A, B))  # sup of log w
MEAN_W = float(torch.linalg.det(PREC) ** -0.5 * torch.exp(0.5 * B @ SIGMA @ B))


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def quadratic_log_w(z: torch.Tensor) -> torch.Tensor:
    """log w(z) = b.z - z^T A z / 2, (N, 2) -> (N,)."""
    return z @ B - 0.5 * ((z @ A) * z).sum(1)


def quadratic_log_q(z: torch.Tensor) -> torch.Tensor:
    """log q up to a constant: -|z|^2 / 2 + log w(z)."""
    return -0.5 * z.square().sum(1) + quadratic_log_w(z)


def check_iid_moments(z: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> None:
    """Mean and covariance of independent draws agree with N(mean, cov) within 4
    standard errors: sqrt(cov_ii / n) for a mean, sqrt((cov_ii cov_jj +
    cov_ij^2) / n) for a covariance entry (Gaussian fourth moments)."""
    n = z.shape[0]
    var = torch.diagonal(cov)
    se_mean = torch.sqrt(var / n)
    assert ((z.mean(0) - mean).abs() < 4 * se_mean).all(), (z.mean(0), mean, se_mean)
    d = z - mean  # centred on the true mean
    est = d.T @ d / n
    se_cov = torch.sqrt((var[:, None] * var[None, :] + cov.square()) / n)
    assert ((est - cov).abs() < 4 * se_cov).all(), (est, cov, se_cov)


def ula_cov(cov: torch.Tensor, eps: float) -> torch.Tensor:
    """The stationary covariance of ULA on N(mu, cov): cov (I - eps cov^-1 / 4)^-1.

    z' - mu = (I - eps P / 2)(z - mu) + sqrt(eps) xi with P = cov^-1, so the
    stationary V solves V = (I - eps P / 2) V (I - eps P / 2) + eps I, i.e.
    V = eps (eps P - eps^2 P^2 / 4)^-1 = cov (I - eps P / 4)^-1; in 1D,
    s^2 / (1 - eps / (4 s^2)). The mean is mu, unbiased.
    """
    prec = torch.linalg.inv(cov)
    return cov @ torch.linalg.inv(torch.eye(len(cov), dtype=cov.dtype) - eps * prec / 4)


class ShiftFlow(torch.nn.Module):
    """g(z) = z + 1: a stand-in generator (only generate, latent_dim and
    parameters are used)."""

    dim = latent_dim = 2

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=F64))

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return z + 1.0


class TiltWeight(torch.nn.Module):
    """log w(x) = b.(x - 1) - (x - 1)^T A (x - 1) / 2: the pulled-back target
    through ShiftFlow is the quadratic tilt (A = 0: the linear tilt)."""

    def __init__(self, b: torch.Tensor, a: torch.Tensor | None = None) -> None:
        super().__init__()
        self.b, self.a = b, a

    def log_weight(self, x: torch.Tensor) -> torch.Tensor:
        z = x - 1.0
        out = z @ self.b
        if self.a is not None:
            out = out - 0.5 * ((z @ self.a) * z).sum(1)
        return out


# ------------------------------------------------------------------ rejection


def test_rejection_with_the_exact_bound_samples_q_at_the_exact_rate() -> None:
    n = 100_000
    cfg = RejectionConfig(bound=math.exp(LOG_SUP_W), chunk_size=30_000)
    res = rejection_sample(quadratic_log_w, 2, n, cfg, gen(0))
    assert res.samples.shape == (n, 2) and res.samples.dtype == F64
    check_iid_moments(res.samples, MU, SIGMA)
    # acceptance E_p[w] / M, a binomial proportion over the proposals
    exact = MEAN_W / math.exp(LOG_SUP_W)
    se = math.sqrt(exact * (1 - exact) / res.proposals)
    assert abs(res.acceptance_rate - exact) < 4 * se, (res.acceptance_rate, exact)
    assert res.proposals % 30_000 == 0 and res.accepted >= n
    assert res.clipped_fraction == 0 and res.clipped_mass == 0
    assert math.isnan(res.pilot_max_weight)
    assert res.max_weight <= math.exp(LOG_SUP_W)
    # the mean weight estimates E_p[w] (its standard error is below 0.002 here)
    assert abs(res.mean_weight - MEAN_W) < 0.01


def test_moment_check_detects_a_wrong_target() -> None:
    # The check above can fail: prior draws are not q.
    z = torch.randn(100_000, 2, generator=gen(1), dtype=F64)
    with pytest.raises(AssertionError):
        check_iid_moments(z, MU, SIGMA)


def test_pilot_bound_is_near_the_supremum_and_clips_little() -> None:
    pilot, n = 100_000, 100_000
    cfg = RejectionConfig(pilot=pilot, chunk_size=25_000)
    res = rejection_sample(quadratic_log_w, 2, n, cfg, gen(2))
    sup = math.exp(LOG_SUP_W)
    assert res.bound == res.pilot_max_weight
    assert 0.95 * sup < res.bound <= sup
    # a fresh proposal exceeds the largest of n exchangeable pilot weights with
    # probability 1 / (n + 1) on average; 20 / (n + 1) fails with chance < 1e-4
    assert res.clipped_fraction < 20 / (pilot + 1)
    assert res.clipped_mass < 20 / (pilot + 1)
    check_iid_moments(res.samples, MU, SIGMA)
    # with a factor of 2 the bound covers the supremum: nothing is clipped, and
    # the acceptance halves
    cfg2 = RejectionConfig(pilot=pilot, bound_factor=2.0, chunk_size=25_000)
    res2 = rejection_sample(quadratic_log_w, 2, n, cfg2, gen(2))
    assert res2.pilot_max_weight == res.pilot_max_weight  # same pilot draws
    assert res2.bound == pytest.approx(2 * res.pilot_max_weight, rel=1e-12)
    assert res2.clipped_fraction == 0
    exact = MEAN_W / res2.bound
    se = math.sqrt(exact * (1 - exact) / res2.proposals)
    assert abs(res2.acceptance_rate - exact) < 4 * se


def _normal_sf(x: float) -> float:
    return 0.5 * math.erfc(x / math.sqrt(2))


def test_clipped_bound_samples_p_min_w_m_and_reports_the_clipping() -> None:
    """Linear tilt log w = beta z0, unbounded, with the fixed bound M = e^c.

    With u = beta z0 ~ N(0, beta^2) and T(k) = E[e^(k u) 1{u > c}]
    = e^(k^2 beta^2 / 2) Phi-bar((c - k beta^2) / beta): the clipped fraction is
    T(0), E_p[min(w, M)] = e^(beta^2 / 2) - T(1) + M T(0) (acceptance: over M),
    the clipped mass E[(w - M)_+] / E[w] = (T(1) - M T(0)) / e^(beta^2 / 2), and
    by Stein's lemma the sampled law p min(w, M) has E[z0] =
    beta (e^(beta^2 / 2) - T(1)) / E_p[min(w, M)] (q's would be beta).
    """
    beta, c = 1.0, 1.0
    big_m = math.exp(c)

    def tail(k: float) -> float:
        return math.exp(k * k * beta * beta / 2) * _normal_sf((c - k * beta**2) / beta)

    def log_w(z: torch.Tensor) -> torch.Tensor:
        return beta * z[:, 0]

    n = 100_000
    res = rejection_sample(log_w, 2, n, RejectionConfig(bound=big_m), gen(3))
    n_prop = res.proposals
    mean_w = math.exp(beta**2 / 2)
    mean_min = mean_w - tail(1) + big_m * tail(0)

    frac = tail(0)
    assert abs(res.clipped_fraction - frac) < 4 * math.sqrt(frac * (1 - frac) / n_prop)
    acc = mean_min / big_m
    assert abs(res.acceptance_rate - acc) < 4 * math.sqrt(acc * (1 - acc) / n_prop)
    # clipped mass: a ratio of sums of X = (w - M)_+ and Y = w; delta method
    mass = (tail(1) - big_m * tail(0)) / mean_w
    ex2 = tail(2) - 2 * big_m * tail(1) + big_m**2 * tail(0)
    exy = tail(2) - big_m * tail(1)
    ey2 = math.exp(2 * beta**2)
    se_mass = math.sqrt((ex2 - 2 * mass * exy + mass**2 * ey2) / n_prop) / mean_w
    assert abs(res.clipped_mass - mass) < 4 * se_mass, (res.clipped_mass, mass)
    # the sample follows p min(w, M), not q = N((beta, 0), I)
    z = res.samples
    expected = beta * (mean_w - tail(1)) / mean_min
    se = float(z[:, 0].std()) / math.sqrt(n)
    assert abs(float(z[:, 0].mean()) - expected) < 4 * se
    assert abs(float(z[:, 0].mean()) - beta) > 20 * se
    assert abs(float(z[:, 1].mean())) < 4 / math.sqrt(n)


def test_quantile_bound_clips_that_share_and_raises_the_acceptance() -> None:
    """Linear tilt log w = z0: the q-quantile of the pilot weights is e^(z_q),
    z_q the standard normal quantile, so about 1 - q of the proposals are
    clipped, and the acceptance E_p[min(w, M)] / M is above the largest-weight
    bound's."""

    def log_w(z: torch.Tensor) -> torch.Tensor:
        return z[:, 0]

    pilot, n = 200_000, 50_000
    top = rejection_sample(log_w, 2, n, RejectionConfig(pilot=pilot), gen(6))
    cfg = RejectionConfig(pilot=pilot, quantile=0.99)
    res = rejection_sample(log_w, 2, n, cfg, gen(6))
    assert res.pilot_max_weight == top.pilot_max_weight  # the same pilot
    z_q = 2.326348  # Phi^-1(0.99)
    assert abs(math.log(res.bound) - z_q) < 0.03
    frac = 0.01
    assert (
        abs(res.clipped_fraction - frac) < 4 * math.sqrt(frac / res.proposals) + 0.002
    )
    assert res.acceptance_rate > 4 * top.acceptance_rate
    assert 0 < res.clipped_mass < 0.1
    table = diagnostics.rejection_table(res, cfg, "toy")
    assert table.loc[0, "quantile"] == 0.99 and table.loc[0, "bound"] == res.bound
    assert list(table.columns) == diagnostics.REJECTION_COLUMNS


@pytest.mark.parametrize("q", [0.0, -0.5, 1.5, math.nan])
def test_quantile_out_of_range_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match="quantile"):
        RejectionConfig(quantile=q)


def test_rejection_seeds_and_sizes() -> None:
    cfg = RejectionConfig(pilot=1000, chunk_size=700)
    a = rejection_sample(quadratic_log_w, 2, 1234, cfg, gen(4)).samples
    b = rejection_sample(quadratic_log_w, 2, 1234, cfg, gen(4)).samples
    c = rejection_sample(quadratic_log_w, 2, 1234, cfg, gen(5)).samples
    assert a.shape == (1234, 2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    one = rejection_sample(quadratic_log_w, 2, 1, cfg, gen(4))
    assert torch.equal(one.samples, a[:1])  # the first acceptance, in draw order
    f32 = rejection_sample(
        lambda z: quadratic_log_w(z.double()), 2, 10, cfg, gen(4), dtype=torch.float32
    )
    assert f32.samples.dtype == torch.float32


def test_non_finite_weights_are_never_accepted() -> None:
    def log_w(z: torch.Tensor) -> torch.Tensor:
        out = quadratic_log_w(z)
        return torch.where(z[:, 0] > 0.5, torch.full_like(out, math.nan), out)

    res = rejection_sample(log_w, 2, 5000, RejectionConfig(pilot=5000), gen(6))
    assert (res.samples[:, 0] <= 0.5).all()
    assert res.non_finite > 0 and math.isfinite(res.bound)


def test_rejection_errors() -> None:
    cfg = RejectionConfig(pilot=100)
    with pytest.raises(ValueError, match="no finite weight"):
        rejection_sample(lambda z: torch.full((len(z),), -math.inf), 2, 5, cfg, gen(0))
    with pytest.raises(ValueError, match="log_weight must return shape"):
        rejection_sample(lambda z: z, 2, 5, cfg, gen(0))
    with pytest.raises(ValueError, match="n_samples"):
        rejection_sample(quadratic_log_w, 2, 0, cfg, gen(0))
    with pytest.raises(ValueError, match="must be finite"):
        rejection_sample(lambda z: 1000.0 + z[:, 0], 2, 5, cfg, gen(0))


def test_sample_rejection_maps_through_g_and_reports(
    caplog: pytest.LogCaptureFixture,
) -> None:
    weight = TiltWeight(B, A)
    cfg = RejectionConfig(pilot=20_000, chunk_size=10_000)
    z, x, _, res = rejection.sample_rejection(
        cfg, Target(ShiftFlow(), weight), 50_000, 1
    )
    assert z.shape == x.shape == (50_000, 2)
    assert z.dtype == x.dtype == np.float32
    np.testing.assert_allclose(x, z + 1.0, atol=1e-6)
    check_iid_moments(torch.as_tensor(z, dtype=F64), MU, SIGMA)
    z2 = rejection.sample_rejection(cfg, Target(ShiftFlow(), weight), 50_000, 1).z
    assert np.array_equal(z, z2)

    table = diagnostics.rejection_table(res, cfg, "gaussians")
    assert list(table.columns) == diagnostics.REJECTION_COLUMNS and len(table) == 1
    row = table.iloc[0]
    assert row["bound_source"] == "pilot" and row["pilot"] == 20_000
    assert row["samples"] == 50_000 and row["proposals"] == res.proposals
    assert row["acceptance_rate"] == res.acceptance_rate
    # a bound far below the weights clips, and says so
    low = RejectionConfig(bound=0.5)
    clipped = rejection.sample_rejection(low, Target(ShiftFlow(), weight), 1000, 1)[3]
    with caplog.at_level(logging.WARNING, logger="laser.latent.diagnostics"):
        table = diagnostics.rejection_table(clipped, low, "gaussians")
    assert table.iloc[0]["bound_source"] == "fixed"
    assert table.iloc[0]["clipped_fraction"] > 0.1
    assert "REJECTION BOUND" in caplog.text and "clipped" in caplog.text


# ------------------------------------------------------------------- Langevin


def test_langevin_moments_are_the_exact_ula_ones() -> None:
    """ULA on q = N(mu, Sigma) with step 0.1: the stationary law is
    N(mu, Sigma (I - eps Sigma^-1 / 4)^-1) (:func:`ula_cov`). One kept draw per
    chain after 400 steps, in which the start is forgotten (contraction
    1 - eps lambda_min(P) / 2 = 0.93 per step), gives independent draws."""
    eps, n = 0.1, 40_000
    cfg = LangevinConfig(step_size=eps, n_chains=n, n_steps=400, thin=1)
    init = torch.randn(n, 2, generator=gen(7), dtype=F64)
    res = langevin_sample(quadratic_log_q, init, n, cfg, gen(8))
    assert res.samples.shape == (n, 2) and res.steps == 401
    check_iid_moments(res.samples, MU, ula_cov(SIGMA, eps))
    # the bias is real: the exact q's covariance is rejected (the narrow
    # direction's variance is 6 % too large, about 8 standard errors)
    with pytest.raises(AssertionError):
        check_iid_moments(res.samples, MU, SIGMA)


def test_langevin_bias_shrinks_with_the_step() -> None:
    """q = N(a, I) through the LaSeR wrapper (linear tilt): ULA's variance is
    1 / (1 - eps / 4) in each direction, a bias of 0.111, 0.053 and 0.026 at
    eps = 0.4, 0.2, 0.1. The pooled variance of 2 x 100000 independent draws has
    a standard error of v / sqrt(100000) = 0.0033."""
    n, a = 100_000, torch.tensor([0.8, -0.5], dtype=F64)
    biases = []
    for eps in (0.4, 0.2, 0.1):
        # the start is forgotten to 1e-8: contraction 1 - eps / 2 per step
        steps = math.ceil(math.log(1e-8) / math.log(1 - eps / 2))
        cfg = LangevinConfig(
            step_size=eps, n_chains=n, n_steps=steps, thin=1, init="prior"
        )
        z, x, _, res = langevin.sample_langevin(
            cfg, Target(ShiftFlow(), TiltWeight(a)), n, 9
        )
        z = torch.as_tensor(z, dtype=F64)
        v_exact = 1 / (1 - eps / 4)
        se_mean = math.sqrt(v_exact / n)
        assert ((z.mean(0) - a).abs() < 4 * se_mean).all()  # the mean is unbiased
        var = float(((z - a) ** 2).mean())
        se_var = v_exact / math.sqrt(n)
        assert abs(var - v_exact) < 4 * se_var, (eps, var, v_exact)
        biases.append(var - 1)
        if eps >= 0.2:  # the bias is detected: q's variance 1 is rejected
            assert var - 1 > 4 * se_var, (eps, var)
    assert biases[0] > biases[1] > biases[2] > -4 * 0.0033, biases


def test_langevin_keeps_every_thin_th_step_in_iteration_major_order() -> None:
    n_chains, n_steps, thin, n_samples = 6, 4, 3, 15  # 3 kept iterations, last cut
    eps = 0.05
    cfg = LangevinConfig(
        step_size=eps, n_chains=n_chains, n_steps=n_steps, thin=thin, chunk_size=4
    )
    init = torch.randn(n_chains, 2, generator=gen(10), dtype=F64)
    res = langevin_sample(quadratic_log_q, init, n_samples, cfg, gen(11))
    assert res.steps == n_steps + 3 * thin

    g = gen(11)
    z = init.clone()
    _, grad_u = potential_and_grad(quadratic_log_q, z)
    rows = []
    for step in range(1, res.steps + 1):
        xi = torch.randn(z.shape, generator=g, dtype=F64)
        z = z - 0.5 * eps * grad_u + math.sqrt(eps) * xi
        _, grad_u = potential_and_grad(quadratic_log_q, z)
        if step > n_steps and (step - n_steps) % thin == 0:
            rows.append(z)
    torch.testing.assert_close(res.samples, torch.cat(rows)[:n_samples])
    assert torch.equal(init, init.clone())


def test_langevin_seeds_resample_start_and_table() -> None:
    cfg = LangevinConfig(step_size=0.05, n_chains=50, n_steps=5, thin=2)
    weight = TiltWeight(B, A)
    a = langevin.sample_langevin(cfg, Target(ShiftFlow(), weight), 400, 3)
    b = langevin.sample_langevin(cfg, Target(ShiftFlow(), weight), 400, 3)
    c = langevin.sample_langevin(cfg, Target(ShiftFlow(), weight), 400, 4)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])
    np.testing.assert_allclose(a[1], a[0] + 1.0, atol=1e-6)
    prior = LangevinConfig(step_size=0.05, n_chains=50, n_steps=5, thin=2, init="prior")
    d = langevin.sample_langevin(prior, Target(ShiftFlow(), weight), 400, 3)
    assert not np.array_equal(a[0], d[0])  # the start differs
    table = langevin.langevin_table(a.z, a.result, cfg.init, "rings")
    assert table.equals(a.table.assign(dataset="rings"))
    assert list(table.columns) == langevin.LANGEVIN_COLUMNS
    assert list(table["dim"]) == [0, 1]
    assert (table["chains"] == 50).all() and (table["draws"] == 400).all()
    assert (table["step_size"] == 0.05).all() and (table["thin"] == 2).all()
    assert (table["init"] == "resample").all() and (table["burn_in_steps"] == 5).all()
    assert np.isfinite(table[["rhat", "ess_bulk", "ess_tail"]]).all().all()


def test_langevin_divergence_names_the_step_size() -> None:
    # N(0, 0.01 I): unstable for eps >= 4 s^2 = 0.04
    def narrow(z: torch.Tensor) -> torch.Tensor:
        return -0.5 * z.square().sum(1) / 0.01

    cfg = LangevinConfig(step_size=1.0, n_chains=10, n_steps=500, thin=1)
    init = torch.randn(10, 2, generator=gen(12), dtype=F64)
    with pytest.raises(FloatingPointError, match="step size 1 is too large"):
        langevin_sample(narrow, init, 10, cfg, gen(13))


def test_langevin_argument_errors() -> None:
    cfg = LangevinConfig(n_chains=4)
    with pytest.raises(ValueError, match=r"init must have shape \(4, D\)"):
        langevin_sample(quadratic_log_q, torch.zeros(3, 2, dtype=F64), 4, cfg, gen(0))
    with pytest.raises(ValueError, match="n_samples"):
        langevin_sample(quadratic_log_q, torch.zeros(4, 2, dtype=F64), 0, cfg, gen(0))

    def bad(z: torch.Tensor) -> torch.Tensor:
        return torch.log(z[:, 0])  # nan for z0 < 0

    start = torch.tensor([[1.0, 0.0]] * 3 + [[-1.0, 0.0]], dtype=F64)
    with pytest.raises(ValueError, match="not finite at 1 starting point"):
        langevin_sample(bad, start, 4, cfg, gen(0))


# --------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "cls, field, value",
    [
        (RejectionConfig, "pilot", 0),
        (RejectionConfig, "pilot", 10.0),
        (RejectionConfig, "bound_factor", 0.5),
        (RejectionConfig, "bound_factor", math.inf),
        (RejectionConfig, "bound", 0.0),
        (RejectionConfig, "bound", -1.0),
        (RejectionConfig, "chunk_size", 0),
        (LangevinConfig, "step_size", 0.0),
        (LangevinConfig, "step_size", math.nan),
        (LangevinConfig, "step_size", True),
        (LangevinConfig, "n_chains", 0),
        (LangevinConfig, "n_steps", -1),
        (LangevinConfig, "thin", 0),
        (LangevinConfig, "chunk_size", 2.0),
        (LangevinConfig, "init", "mode"),
    ],
)
def test_config_dataclasses_name_the_bad_field(cls, field, value) -> None:
    with pytest.raises(ValueError, match=f"{cls.__name__}.{field} must"):
        cls(**{field: value})


def test_config_defaults_are_those_of_config_yaml(repo_config: dict) -> None:
    assert RejectionConfig(**repo_config["rejection"]) == RejectionConfig()
    assert LangevinConfig(**repo_config["langevin"]) == LangevinConfig()


REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "schemas" / "config.schema.yaml"


@pytest.fixture
def repo_config() -> dict:
    with open(REPO / "config.yaml") as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize(
    "section, key, value, expected",
    [
        ("rejection", "pilot", 0, "'rejection.pilot' = 0"),
        ("rejection", "pilot", 1.0e6, "'rejection.pilot' = 1000000.0"),
        ("rejection", "bound_factor", 0.9, "'rejection.bound_factor' = 0.9"),
        ("rejection", "bound", 0, "'rejection.bound' = 0"),
        ("rejection", "bound", "big", "'rejection.bound' = 'big'"),
        ("rejection", "chunk_size", -1, "'rejection.chunk_size' = -1"),
        ("rejection", "tries", 3, "['tries'] under 'rejection'"),
        ("langevin", "step_size", 0, "'langevin.step_size' = 0"),
        ("langevin", "step_size", -0.1, "'langevin.step_size' = -0.1"),
        ("langevin", "n_chains", 0, "'langevin.n_chains' = 0"),
        ("langevin", "n_steps", -1, "'langevin.n_steps' = -1"),
        ("langevin", "thin", 0, "'langevin.thin' = 0"),
        ("langevin", "chunk_size", 0, "'langevin.chunk_size' = 0"),
        ("langevin", "init", "mode", "'langevin.init' = 'mode': must be one of"),
        ("langevin", "metropolis", True, "['metropolis'] under 'langevin'"),
    ],
)
def test_bad_config_values_name_the_key(repo_config, section, key, value, expected):
    repo_config[section][key] = value
    with pytest.raises(ConfigError, match=re.escape(expected)) as err:
        validate(repo_config, SCHEMA)
    assert str(err.value).startswith("invalid configuration:")


def test_config_fixed_bound_and_overrides_validate(repo_config) -> None:
    repo_config["rejection"]["bound"] = 50.0
    repo_config["toys"]["rings"]["langevin"] = {"step_size": 0.001}
    repo_config["toys"]["rings"]["rejection"] = {"bound_factor": 0.5}
    with pytest.raises(ConfigError, match="'toys.rings.rejection.bound_factor' = 0.5"):
        validate(repo_config, SCHEMA)
    repo_config["toys"]["rings"]["rejection"] = {"bound_factor": 2.0}
    validate(repo_config, SCHEMA)
    repo_config["methods"] = ["baseline", "rejection", "langevin"]
    validate(repo_config, SCHEMA)


def test_missing_sections_are_named(repo_config) -> None:
    del repo_config["langevin"]
    with pytest.raises(ConfigError, match="'langevin' is a required property"):
        validate(repo_config, SCHEMA)
