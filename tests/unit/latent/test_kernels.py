"""Property tests of the independence jump from the prior (laser.latent.kernels)
and of HMC with jumps (laser.latent.hmc.sample with ``jump_every``)."""

from __future__ import annotations

import math

import pytest
import torch

from laser.latent.hmc import HMCConfig, sample
from laser.latent.integrator import potential_and_grad
from laser.latent.kernels import prior_jump

F64 = torch.float64
#: A bounded weight w(z) = exp(-z^T B z / 2) <= 1: q = N(0, I) w = N(0, (I + B)^-1).
B = torch.tensor([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]], dtype=F64)
COV = torch.linalg.inv(torch.eye(3, dtype=F64) + B)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def tilted(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) + log w(z), the LaSeR form of N(0, (I + B)^-1)."""
    return -0.5 * z.square().sum(dim=1) - 0.5 * ((z @ B) * z).sum(dim=1)  # (C,)


def two_modes(share: float = 0.7, centre: float = 1.5, width: float = 0.25):
    """log of share N(+centre e1, width^2 I) + (1 - share) N(-centre e1, ...)."""
    shift = torch.tensor([centre, 0.0], dtype=F64)

    def log_prob(z: torch.Tensor) -> torch.Tensor:
        right = ((z - shift).square().sum(dim=1)) / (-2 * width**2) + math.log(share)
        left = ((z + shift).square().sum(dim=1)) / (-2 * width**2) + math.log(1 - share)
        return torch.logaddexp(right, left)  # (C,)

    return log_prob


def moments_agree(z: torch.Tensor, cov: torch.Tensor) -> bool:
    """Mean 0 and covariance `cov` of independent rows z, each entry within 5 SE."""
    n = z.shape[0]
    mean_se = torch.sqrt(torch.diagonal(cov) / n)  # (D,)
    var = torch.diagonal(cov)
    cov_se = torch.sqrt((var[:, None] * var[None, :] + cov**2) / n)  # (D, D)
    est = torch.cov(z.T)
    return bool(
        (z.mean(dim=0).abs() < 5 * mean_se).all()
        and ((est - cov).abs() < 5 * cov_se).all()
    )


def run_jumps(z: torch.Tensor, n: int, seed: int) -> tuple[torch.Tensor, float]:
    """`n` jumps of all chains from `z`; the end state and the acceptance."""
    u, grad = potential_and_grad(tilted, z)
    g, accepted = gen(seed), 0
    for _ in range(n):
        z, u, grad, jumped = prior_jump(tilted, z, u, grad, g)
        accepted += int(jumped.sum())
    return z, accepted / (n * z.shape[0])


def test_jumps_alone_reach_and_keep_the_target_from_one_point() -> None:
    # 20000 chains all start at one point far out; independent chains, so the
    # end states are independent draws, of q if the kernel leaves q invariant.
    start = torch.tensor([[2.0, -2.0, 1.0]], dtype=F64).expand(20_000, 3)
    z, rate = run_jumps(start.clone(), 60, seed=1)
    assert moments_agree(z, COV)
    # The acceptance is at least 1 / M, M = max w / E_N[w] = sqrt(det(I + B)).
    assert rate > 1 / math.sqrt(float(torch.linalg.det(torch.eye(3) + B)))
    # The check has power: the prior itself, or too few jumps, fail it.
    assert not moments_agree(torch.randn(20_000, 3, generator=gen(2), dtype=F64), COV)
    assert not moments_agree(run_jumps(start.clone(), 2, seed=3)[0], COV)


def test_a_jump_keeps_state_gradient_and_potential_consistent() -> None:
    z = torch.randn(500, 3, generator=gen(4), dtype=F64)
    u, grad = potential_and_grad(tilted, z)
    z1, u1, grad1, jumped = prior_jump(tilted, z, u, grad, gen(5))
    assert 0 < int(jumped.sum()) < 500
    torch.testing.assert_close(z1[~jumped], z[~jumped])
    u_ref, grad_ref = potential_and_grad(tilted, z1)
    torch.testing.assert_close(u1, u_ref)
    torch.testing.assert_close(grad1, grad_ref)


def test_a_jump_never_enters_a_region_of_zero_density() -> None:
    def half(z: torch.Tensor) -> torch.Tensor:  # q = 0 where z_0 > 0
        return torch.where(z[:, 0] > 0, -torch.inf, tilted(z))

    z = -torch.rand(2000, 3, generator=gen(6), dtype=F64)
    u, grad = potential_and_grad(half, z)
    g = gen(7)
    for _ in range(10):
        z, u, grad, _ = prior_jump(half, z, u, grad, g)
    assert (z[:, 0] <= 0).all() and torch.isfinite(u).all()


def run_two_modes(jump_every: int, seed: int = 8) -> tuple[torch.Tensor, float]:
    n_chains = 2000
    config = HMCConfig(
        step_size=0.08,
        n_leapfrog=10,
        n_chains=n_chains,
        burn_in=300,
        jump_every=jump_every,
        log_every=1000,
    )
    init = torch.tensor([[-1.5, 0.0]], dtype=F64).expand(n_chains, 2).clone()
    result = sample(two_modes(), init, n_chains, config, gen(seed))
    return result.samples, result.jump_rate


def test_jumps_carry_chains_between_modes_that_hmc_never_crosses() -> None:
    # Two modes 12 widths apart (density between them e^-18 of the peaks), all
    # chains started in the left one, which holds 30 % of the mass.
    z, rate = run_two_modes(jump_every=1)
    right = float((z[:, 0] > 0).double().mean())
    assert abs(right - 0.7) < 5 * math.sqrt(0.21 / len(z))  # within 5 SE
    assert 0 < rate < 0.2
    z, rate = run_two_modes(jump_every=0)
    assert (z[:, 0] < 0).all() and math.isnan(rate)  # HMC alone stays


def test_jumps_are_reproducible_and_change_the_chain() -> None:
    a, _ = run_two_modes(jump_every=2, seed=9)
    b, _ = run_two_modes(jump_every=2, seed=9)
    c, _ = run_two_modes(jump_every=0, seed=9)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("value", [-1, 1.5, True, "2"])
def test_jump_every_is_validated(value: object) -> None:
    with pytest.raises(ValueError, match="jump_every"):
        HMCConfig(jump_every=value)
