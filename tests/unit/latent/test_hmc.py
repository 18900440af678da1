"""Property tests of the batched HMC sampler in laser.latent.hmc."""

from __future__ import annotations

import logging
import math

import pytest
import torch

from laser.latent.adaptation import DualAveraging
from laser.latent.hmc import HMCConfig, HMCResult, sample
from laser.latent.integrator import chunked, leapfrog, potential_and_grad
from laser.latent.kernels import hmc_step

F64 = torch.float64


def gaussian_log_prob(mean: torch.Tensor, cov: torch.Tensor):
    """Unnormalised log density of N(mean, cov) acting on (C, D) batches."""
    prec = torch.linalg.inv(cov)

    def log_prob(z: torch.Tensor) -> torch.Tensor:
        d = z - mean  # (C, D)
        return -0.5 * ((d @ prec) * d).sum(dim=1)  # (C,)

    return log_prob


def std_normal(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * z.square().sum(dim=1)  # (C,)


def hamiltonian(u: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return u + 0.5 * p.square().sum(dim=1)  # (C,)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def spd(dim: int, seed: int) -> torch.Tensor:
    """A random symmetric positive definite matrix with eigenvalues in [0.5, 3]."""
    g = gen(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=F64))
    eig = 0.5 + 2.5 * torch.rand(dim, generator=g, dtype=F64)
    return (q * eig) @ q.T


def check_moments(
    samples: torch.Tensor,
    n_chains: int,
    mean: torch.Tensor,
    cov: torch.Tensor,
    max_se: float,
) -> None:
    """Mean and covariance agree with the truth within 5 Monte Carlo errors.

    The chains are independent, so the spread of per-chain averages across
    chains gives the Monte Carlo standard error of the pooled average without
    assuming anything about the autocorrelation inside a chain (batch means
    with one batch per chain; with 1000 chains the error estimate itself is
    good to ~2%). A 5-sigma bound per entry fails by chance with probability
    ~1e-6. ``max_se`` guards against a vacuous bound.

    The tests use trajectory lengths step_size * n_leapfrog of 1.2-1.5: on a
    Gaussian, HMC rotates each eigen-direction by the angle omega * T
    (omega^2 an eigenvalue of the precision); near pi it maps z to -z and the
    second moments barely mix, near pi/2 it mixes best.
    """
    dim = samples.shape[1]
    per_chain = samples.reshape(-1, n_chains, dim)  # (iters, C, D), iteration-major
    chain_mean = per_chain.mean(dim=0)  # (C, D)
    est_mean = chain_mean.mean(dim=0)  # (D,)
    se_mean = chain_mean.std(dim=0) / math.sqrt(n_chains)  # (D,)
    assert (se_mean < max_se).all(), se_mean
    assert ((est_mean - mean).abs() < 5 * se_mean).all(), (est_mean, mean, se_mean)

    d = per_chain - mean  # (iters, C, D), centred on the true mean: unbiased
    chain_cov = torch.einsum("icj,ick->cjk", d, d) / d.shape[0]  # (C, D, D)
    est_cov = chain_cov.mean(dim=0)  # (D, D)
    se_cov = chain_cov.std(dim=0) / math.sqrt(n_chains)  # (D, D)
    assert (se_cov < max_se).all(), se_cov
    assert ((est_cov - cov).abs() < 5 * se_cov).all(), (est_cov, cov, se_cov)


# --------------------------------------------------------------------- config


def test_config_defaults_are_the_papers() -> None:
    cfg = HMCConfig()
    assert cfg.step_size == 0.004
    assert cfg.n_leapfrog == 50
    assert cfg.n_chains == 100
    assert cfg.burn_in == 3000
    assert cfg.log_every == 100
    with pytest.raises(AttributeError):
        cfg.step_size = 0.1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("step_size", 0.0),
        ("step_size", -0.1),
        ("step_size", math.nan),
        ("step_size", math.inf),
        ("step_size", "0.1"),
        ("n_leapfrog", 0),
        ("n_leapfrog", 2.5),
        ("n_chains", 0),
        ("n_chains", -3),
        ("n_chains", True),
        ("burn_in", -1),
        ("log_every", 0),
    ],
)
def test_config_validation(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        HMCConfig(**{field: value})


def test_config_accepts_zero_burn_in() -> None:
    assert HMCConfig(burn_in=0).burn_in == 0


# ------------------------------------------------------- potential and leapfrog


def test_potential_and_grad_matches_analytic_gaussian() -> None:
    dim = 4
    cov = spd(dim, seed=1)
    mean = torch.linspace(-1, 2, dim, dtype=F64)
    prec = torch.linalg.inv(cov)
    z = torch.randn(7, dim, generator=gen(2), dtype=F64)
    u, grad = potential_and_grad(gaussian_log_prob(mean, cov), z)
    d = z - mean
    assert u.shape == (7,) and grad.shape == (7, dim)
    assert not u.requires_grad and not grad.requires_grad
    torch.testing.assert_close(u, 0.5 * ((d @ prec) * d).sum(1), rtol=1e-12, atol=0)
    torch.testing.assert_close(grad, d @ prec, rtol=1e-12, atol=1e-14)
    assert not z.requires_grad  # the caller's tensor is untouched


def test_potential_and_grad_constant_and_bad_shape() -> None:
    z = torch.randn(5, 3, generator=gen(0), dtype=F64)
    u, grad = potential_and_grad(lambda x: torch.zeros(x.shape[0], dtype=F64), z)
    assert torch.equal(u, torch.zeros(5, dtype=F64))
    assert torch.equal(grad, torch.zeros(5, 3, dtype=F64))
    with pytest.raises(ValueError, match="shape"):
        potential_and_grad(lambda x: x.sum(dim=1, keepdim=True), z)


def test_potential_and_grad_works_under_no_grad() -> None:
    z = torch.randn(3, 2, generator=gen(0), dtype=F64)
    with torch.no_grad():
        _, grad = potential_and_grad(std_normal, z)
    torch.testing.assert_close(grad, z)


def _leapfrog_setup(n_chains: int = 64, dim: int = 5):
    log_prob = gaussian_log_prob(torch.zeros(dim, dtype=F64), spd(dim, seed=3))
    g = gen(4)
    z0 = torch.randn(n_chains, dim, generator=g, dtype=F64)
    p0 = torch.randn(n_chains, dim, generator=g, dtype=F64)

    def grad_potential(z: torch.Tensor):
        return potential_and_grad(log_prob, z)

    return z0, p0, grad_potential


def test_leapfrog_is_time_reversible() -> None:
    z0, p0, grad_potential = _leapfrog_setup()
    _, g0 = grad_potential(z0)
    z1, p1, _, g1 = leapfrog(z0, p0, g0, 0.1, 37, grad_potential)
    assert (z1 - z0).abs().max() > 0.1  # it did move
    z2, p2, _, _ = leapfrog(z1, -p1, g1, 0.1, 37, grad_potential)
    torch.testing.assert_close(z2, z0, rtol=0, atol=1e-10)
    torch.testing.assert_close(-p2, p0, rtol=0, atol=1e-10)


def test_leapfrog_returns_end_state_with_one_gradient_per_step() -> None:
    z0, p0, grad_potential = _leapfrog_setup()
    calls = []

    def counting(z: torch.Tensor):
        calls.append(1)
        return grad_potential(z)

    u0, g0 = grad_potential(z0)
    z1, p1, u1, g1 = leapfrog(z0, p0, g0, 0.05, 13, counting)
    assert len(calls) == 13
    u_ref, g_ref = grad_potential(z1)
    assert torch.equal(u1, u_ref) and torch.equal(g1, g_ref)
    assert z1.shape == p1.shape == z0.shape and u1.shape == u0.shape
    with pytest.raises(ValueError, match="n_steps"):
        leapfrog(z0, p0, g0, 0.05, 0, grad_potential)


def test_leapfrog_energy_error_is_second_order() -> None:
    z0, p0, grad_potential = _leapfrog_setup(n_chains=256)
    u0, g0 = grad_potential(z0)
    h0 = hamiltonian(u0, p0)
    errors = []
    for eps, n in [(0.1, 20), (0.05, 40), (0.025, 80)]:  # same trajectory length
        _, p, u, _ = leapfrog(z0, p0, g0, eps, n, grad_potential)
        errors.append((hamiltonian(u, p) - h0).abs().mean().item())
    assert errors[0] < 0.05  # small in absolute terms
    for coarse, fine in zip(errors, errors[1:], strict=False):
        assert 3.5 < coarse / fine < 4.5, errors  # O(eps^2): x4 when eps halves


# ------------------------------------------------------------------ hmc_step


def test_hmc_step_shapes_and_rejection_keeps_state() -> None:
    # Finite only on the half space z0 <= 1; chains start at z0 = 0.9, so
    # long trajectories often leave it: those must be rejected exactly.
    def log_prob(z: torch.Tensor) -> torch.Tensor:
        inside = z[:, 0] <= 1
        return torch.where(inside, std_normal(z), torch.nan)  # (C,)

    z = torch.full((300, 3), 0.9, dtype=F64)
    u, grad = potential_and_grad(log_prob, z)
    cfg = HMCConfig(step_size=0.3, n_leapfrog=10, n_chains=300, burn_in=0)
    z1, u1, g1, acc, _ = hmc_step(log_prob, z, u, grad, cfg, gen(0))
    assert z1.shape == z.shape and u1.shape == (300,) and g1.shape == z.shape
    assert acc.dtype == torch.bool and acc.shape == (300,)
    assert 0 < int(acc.sum()) < 300
    rej = ~acc
    assert torch.equal(z1[rej], z[rej])
    assert torch.equal(u1[rej], u[rej]) and torch.equal(g1[rej], grad[rej])
    assert torch.isfinite(u1).all() and (z1[:, 0] <= 1).all()
    u_ref, g_ref = potential_and_grad(log_prob, z1)
    assert torch.equal(u1, u_ref) and torch.equal(g1, g_ref)


# -------------------------------------------------------------------- sample


def test_sample_is_repeated_hmc_step_in_iteration_major_order() -> None:
    n_chains, dim, burn_in, n_samples = 8, 3, 5, 20  # 3 kept iterations, last cut
    cfg = HMCConfig(step_size=0.2, n_leapfrog=5, n_chains=n_chains, burn_in=burn_in)
    log_prob = gaussian_log_prob(torch.ones(dim, dtype=F64), spd(dim, seed=5))
    init = torch.randn(n_chains, dim, generator=gen(6), dtype=F64)
    res = sample(log_prob, init, n_samples, cfg, gen(7))

    g = gen(7)
    z = init.clone()
    u, grad = potential_and_grad(log_prob, z)
    rows, n_acc = [], 0
    for it in range(burn_in + 3):
        z, u, grad, acc, _ = hmc_step(log_prob, z, u, grad, cfg, g)
        if it >= burn_in:
            rows.append(z)
            n_acc += int(acc.sum())
    expected = torch.cat(rows)[:n_samples]
    assert torch.equal(res.samples, expected)
    assert res.acceptance_rate == n_acc / (3 * n_chains)
    assert torch.equal(init, init.clone())  # init not modified in place


def test_correlated_2d_gaussian_moments() -> None:
    mean = torch.tensor([1.0, -2.0], dtype=F64)
    cov = torch.tensor([[2.0, 0.8], [0.8, 1.0]], dtype=F64)
    n_chains = 1000
    cfg = HMCConfig(step_size=0.15, n_leapfrog=10, n_chains=n_chains, burn_in=100)
    init = torch.randn(n_chains, 2, generator=gen(10), dtype=F64)
    res = sample(gaussian_log_prob(mean, cov), init, 200 * n_chains, cfg, gen(11))
    assert res.samples.shape == (200_000, 2)
    assert res.acceptance_rate > 0.8
    check_moments(res.samples, n_chains, mean, cov, max_se=0.02)


def test_linear_tilt_of_standard_normal_gives_shifted_normal() -> None:
    # p(z) = N(0, I), w(z) = exp(a.z)  =>  q(z) = N(a, I).
    a = torch.tensor([0.7, -1.2, 0.3], dtype=F64)

    def log_prob(z: torch.Tensor) -> torch.Tensor:
        return std_normal(z) + z @ a  # (C,)

    n_chains = 1000
    cfg = HMCConfig(step_size=0.15, n_leapfrog=10, n_chains=n_chains, burn_in=100)
    init = torch.randn(n_chains, 3, generator=gen(12), dtype=F64)
    res = sample(log_prob, init, 150 * n_chains, cfg, gen(13))
    check_moments(res.samples, n_chains, a, torch.eye(3, dtype=F64), max_se=0.02)


def test_quadratic_tilt_of_standard_normal() -> None:
    # p(z) = N(0, I), w(z) = exp(-z^T B z / 2)  =>  q(z) = N(0, (I + B)^-1).
    b = spd(3, seed=14)

    def log_prob(z: torch.Tensor) -> torch.Tensor:
        return std_normal(z) - 0.5 * ((z @ b) * z).sum(dim=1)  # (C,)

    n_chains = 1000
    cfg = HMCConfig(step_size=0.1, n_leapfrog=12, n_chains=n_chains, burn_in=100)
    init = torch.randn(n_chains, 3, generator=gen(15), dtype=F64)
    res = sample(log_prob, init, 150 * n_chains, cfg, gen(16))
    cov = torch.linalg.inv(torch.eye(3, dtype=F64) + b)
    check_moments(res.samples, n_chains, torch.zeros(3, dtype=F64), cov, max_se=0.02)


def test_moment_check_detects_a_wrong_target() -> None:
    # The moment check used above must be able to fail: samples of N(a, I)
    # compared with N(a, 1.1 I) and with N(a + 0.05, I).
    a = torch.tensor([0.5, -0.5], dtype=F64)
    n_chains = 1000
    cfg = HMCConfig(step_size=0.15, n_leapfrog=10, n_chains=n_chains, burn_in=100)
    log_prob = gaussian_log_prob(a, torch.eye(2, dtype=F64))
    init = torch.randn(n_chains, 2, generator=gen(17), dtype=F64)
    s = sample(log_prob, init, 150 * n_chains, cfg, gen(18)).samples
    eye = torch.eye(2, dtype=F64)
    check_moments(s, n_chains, a, eye, max_se=0.02)
    with pytest.raises(AssertionError):
        check_moments(s, n_chains, a, 1.1 * eye, max_se=0.02)
    with pytest.raises(AssertionError):
        check_moments(s, n_chains, a + 0.05, eye, max_se=0.02)


def test_same_seed_same_bytes_different_seed_different() -> None:
    cfg = HMCConfig(step_size=0.1, n_leapfrog=5, n_chains=50, burn_in=10)
    init = torch.zeros(50, 2, dtype=F64)
    r1 = sample(std_normal, init, 500, cfg, gen(123))
    r2 = sample(std_normal, init, 500, cfg, gen(123))
    r3 = sample(std_normal, init, 500, cfg, gen(124))
    assert torch.equal(r1.samples, r2.samples)
    assert r1.acceptance_rate == r2.acceptance_rate
    assert not torch.equal(r1.samples, r3.samples)


def test_acceptance_rate_depends_on_step_size() -> None:
    init = torch.zeros(200, 2, dtype=F64)
    small = HMCConfig(step_size=1e-3, n_leapfrog=10, n_chains=200, burn_in=20)
    large = HMCConfig(step_size=1.5, n_leapfrog=10, n_chains=200, burn_in=20)
    r_small = sample(std_normal, init, 2000, small, gen(0))
    r_large = sample(std_normal, init, 2000, large, gen(0))
    assert r_small.acceptance_rate > 0.99
    assert r_small.burn_in_acceptance_rate > 0.99
    assert r_large.acceptance_rate < 0.8
    assert 0 <= r_large.burn_in_acceptance_rate <= 1


@pytest.mark.parametrize("bad", [-math.inf, math.nan, math.inf])
def test_non_finite_region_is_never_entered(bad: float) -> None:
    # log_prob is non-finite for z0 > 1 (+inf too: a non-finite Hamiltonian is
    # a rejection, not an infinitely good proposal); the sampler stays in z0 <= 1.
    def log_prob(z: torch.Tensor) -> torch.Tensor:
        return torch.where(z[:, 0] > 1, bad, std_normal(z))  # (C,)

    n_chains = 200
    cfg = HMCConfig(step_size=0.3, n_leapfrog=10, n_chains=n_chains, burn_in=20)
    init = torch.zeros(n_chains, 2, dtype=F64)
    res = sample(log_prob, init, 100 * n_chains, cfg, gen(1))
    assert torch.isfinite(res.samples).all()
    assert (res.samples[:, 0] <= 1).all()
    # the boundary is hit often (the target has mass 0.16 beyond z0 = 1) and
    # rejected; the chains are not stuck.
    assert 0.3 < res.acceptance_rate < 0.99
    assert res.samples[:, 0].max() > 0.9


def test_nan_log_prob_region_is_rejected() -> None:
    def log_prob(z: torch.Tensor) -> torch.Tensor:
        # log(1 - z0): NaN value and NaN gradient for z0 > 1, -inf at z0 = 1
        return std_normal(z) + torch.log1p(-z[:, 0])  # (C,)

    n_chains = 100
    cfg = HMCConfig(step_size=0.3, n_leapfrog=10, n_chains=n_chains, burn_in=10)
    res = sample(log_prob, torch.zeros(n_chains, 2, dtype=F64), 5000, cfg, gen(2))
    assert torch.isfinite(res.samples).all()
    assert (res.samples[:, 0] < 1).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("n_samples", "dim"), [(250, 1), (100, 4), (1, 7)])
def test_output_shape_and_dtype(dtype: torch.dtype, n_samples: int, dim: int) -> None:
    cfg = HMCConfig(step_size=0.1, n_leapfrog=3, n_chains=100, burn_in=2)
    init = torch.zeros(100, dim, dtype=dtype)
    res = sample(std_normal, init, n_samples, cfg, gen(0))
    assert isinstance(res, HMCResult)
    assert res.samples.shape == (n_samples, dim)
    assert res.samples.dtype == dtype
    assert res.samples.device == init.device
    assert torch.isfinite(res.samples).all()
    assert 0.0 <= res.acceptance_rate <= 1.0


def test_sample_argument_errors() -> None:
    cfg = HMCConfig(step_size=0.1, n_leapfrog=3, n_chains=10, burn_in=0)
    with pytest.raises(ValueError, match="n_chains"):
        sample(std_normal, torch.zeros(11, 2), 10, cfg, gen(0))
    with pytest.raises(ValueError, match="init"):
        sample(std_normal, torch.zeros(10), 10, cfg, gen(0))
    with pytest.raises(ValueError, match="n_samples"):
        sample(std_normal, torch.zeros(10, 2), 0, cfg, gen(0))

    def log_prob(z: torch.Tensor) -> torch.Tensor:
        return torch.where(z[:, 0] > 1, -torch.inf, std_normal(z))  # (C,)

    init = torch.zeros(10, 2)
    init[3, 0] = 2.0
    with pytest.raises(ValueError, match="not finite"):
        sample(log_prob, init, 10, cfg, gen(0))


def test_burn_in_zero_and_logging(caplog: pytest.LogCaptureFixture) -> None:
    cfg = HMCConfig(step_size=0.1, n_leapfrog=3, n_chains=10, burn_in=0, log_every=2)
    with caplog.at_level(logging.INFO, logger="laser.latent.hmc"):
        res = sample(std_normal, torch.zeros(10, 2), 50, cfg, gen(0))
    assert math.isnan(res.burn_in_acceptance_rate)
    messages = [r.getMessage() for r in caplog.records if r.name == "laser.latent.hmc"]
    progress = [m for m in messages if m.startswith("HMC iteration")]
    assert len(progress) == 3  # iterations 2, 4 and the last (5)
    assert "acceptance so far" in progress[0] and " s" in progress[0]
    assert any("done" in m and "acceptance" in m for m in messages)


# ------------------------------------------- chunked calls and step adaptation


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("chunk_size", 0),
        ("chunk_size", 2.0),
        ("adapt_step_size", 1),
        ("adapt_step_size", "yes"),
        ("target_accept", 0.0),
        ("target_accept", 1.0),
        ("target_accept", True),
        ("target_accept", "0.8"),
    ],
)
def test_config_validation_of_speed_settings(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        HMCConfig(**{field: value})


def test_chunked_log_prob_and_gradient_equal_unchunked() -> None:
    mean = torch.tensor([1.0, -2.0], dtype=F64)
    cov = torch.tensor([[2.0, 0.8], [0.8, 1.0]], dtype=F64)
    log_prob = gaussian_log_prob(mean, cov)
    z = torch.randn(23, 2, generator=gen(30), dtype=F64)
    u, g = potential_and_grad(log_prob, z)
    u7, g7 = potential_and_grad(chunked(log_prob, 7), z)
    # equal up to rounding: a matrix product may sum in another order per batch
    torch.testing.assert_close(u7, u, rtol=1e-13, atol=0.0)
    torch.testing.assert_close(g7, g, rtol=1e-13, atol=0.0)


def test_chunking_does_not_change_the_chain() -> None:
    # Rows are independent, so an element-wise log density gives the same
    # bytes whatever the chunk size.
    def log_prob(z: torch.Tensor) -> torch.Tensor:
        return -0.5 * ((z - 0.5) ** 2).sum(dim=1)  # (C,)

    init = torch.randn(40, 2, generator=gen(31), dtype=F64)
    runs = [
        sample(
            log_prob,
            init,
            400,
            HMCConfig(
                step_size=0.2, n_leapfrog=5, n_chains=40, burn_in=5, chunk_size=c
            ),
            gen(32),
        ).samples
        for c in (7, 40, 10_000)
    ]
    assert torch.equal(runs[0], runs[1])
    assert torch.equal(runs[0], runs[2])


def test_dual_averaging_moves_the_step_towards_the_target() -> None:
    up, down = DualAveraging(0.01, 0.8), DualAveraging(0.01, 0.8)
    for _ in range(50):
        up.update(1.0)  # every proposal accepted: step too small
        down.update(0.0)  # none accepted: step too large
    assert up.final > 0.01
    assert down.final < 0.01


def test_adapted_step_reaches_target_acceptance_and_keeps_the_target() -> None:
    mean = torch.tensor([1.0, -2.0], dtype=F64)
    cov = torch.tensor([[2.0, 0.8], [0.8, 1.0]], dtype=F64)
    n_chains = 1000
    cfg = HMCConfig(
        step_size=0.004,
        n_leapfrog=10,
        n_chains=n_chains,
        burn_in=150,
        adapt_step_size=True,
        target_accept=0.8,
    )
    init = torch.randn(n_chains, 2, generator=gen(33), dtype=F64)
    res = sample(gaussian_log_prob(mean, cov), init, 200 * n_chains, cfg, gen(34))
    assert res.step_size > 0.1  # far above the 0.004 it started from
    assert abs(res.acceptance_rate - 0.8) < 0.07, res.acceptance_rate
    check_moments(res.samples, n_chains, mean, cov, max_se=0.04)


def test_fixed_step_is_reported_unchanged() -> None:
    cfg = HMCConfig(step_size=0.05, n_leapfrog=3, n_chains=10, burn_in=4)
    res = sample(std_normal, torch.zeros(10, 2, dtype=F64), 50, cfg, gen(35))
    assert res.step_size == 0.05
    assert all(t >= 0 for t in res.seconds)
