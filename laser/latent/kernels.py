"""The Markov transitions of the latent samplers, each for all chains at once:
the Metropolis-adjusted HMC step (arXiv:2106.00792, Sec. 3) and the independence
jump from the prior that :func:`laser.latent.hmc.sample` may add to it.

HMC moves a chain along the gradient of log q(z): it explores a mode well but
crosses the valleys between modes rarely, so the modes' shares in a sample of
many chains keep the scatter of where the chains started. The jump proposes a
fresh prior draw z' ~ N(0, I) for every chain, independent of where the chain
is, and accepts it with the independence Metropolis-Hastings probability

    min(1, q(z') N(z) / (q(z) N(z'))) = min(1, w(z') / w(z))

for q(z) = N(z) w(g(z)) / Z0 (Tierney 1994, Sec. 2.3.3). It leaves q invariant,
so alternating it with HMC steps is again a valid sampler of q, whose chains
move between modes in a few jumps wherever q's weights stay near the prior's
(its acceptance is at least 1 / M, M = max w / E[w] the bound of rejection
sampling from the prior).

References:
    R. M. Neal, "MCMC using Hamiltonian dynamics", arXiv:1206.1901, Sec. 3.2.
    L. Tierney, "Markov chains for exploring posterior distributions", Ann.
    Statist. 22 (1994) 1701 (independence chains, mixtures and cycles of kernels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from laser.latent.integrator import (
    LogProb,
    leapfrog,
    normal_like,
    potential_and_grad,
    uniform,
)

if TYPE_CHECKING:  # the sampler's settings; hmc imports this module
    from laser.latent.hmc import HMCConfig

__all__ = ["hmc_step", "prior_jump"]


def hmc_step(
    log_prob: LogProb,
    z: Tensor,
    u: Tensor,
    grad_u: Tensor,
    config: HMCConfig,
    generator: torch.Generator,
    step_size: float | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """One Metropolis-adjusted HMC iteration for all chains at once.

    Draws fresh momenta p ~ N(0, I), integrates ``config.n_leapfrog`` leapfrog
    steps and accepts each chain's proposal with probability
    min(1, exp(H_old - H_new)), H = U + |p|^2 / 2. A proposal whose
    Hamiltonian, position or gradient is not finite is rejected.

    Args:
        log_prob: Log target density up to a constant, (C, D) -> (C,).
        z: Current positions, shape (C, D).
        u: U at ``z``, shape (C,).
        grad_u: dU/dz at ``z``, shape (C, D).
        config: Sampler settings (step_size and n_leapfrog are used).
        generator: Source of all randomness (momenta, then uniforms).
        step_size: Overrides ``config.step_size`` (used while adapting).

    Returns:
        ``(z, u, grad_u, accepted, accept_prob)``: the new state (C, D), (C,),
        (C, D), a boolean mask (C,) of the chains whose proposal was accepted
        and the Metropolis acceptance probabilities min(1, exp(H0 - H1)) (C,)
        (0 for a non-finite proposal).

    References:
        R. M. Neal, arXiv:1206.1901, Sec. 3.2.
        arXiv:2106.00792, Sec. 3 and 4.1.
    """

    def grad_potential(x: Tensor) -> tuple[Tensor, Tensor]:
        return potential_and_grad(log_prob, x)

    eps = config.step_size if step_size is None else step_size
    p0 = normal_like(z, generator)  # (C, D)
    z1, p1, u1, grad1 = leapfrog(z, p0, grad_u, eps, config.n_leapfrog, grad_potential)
    h0 = u + 0.5 * p0.square().sum(dim=1)  # (C,)
    h1 = u1 + 0.5 * p1.square().sum(dim=1)  # (C,)
    finite = (
        torch.isfinite(h1)
        & torch.isfinite(z1).all(dim=1)
        & torch.isfinite(grad1).all(dim=1)
    )  # (C,)
    log_uniform = torch.log(uniform(z.shape[0], z, generator))  # (C,)
    # NaN comparisons are False, and non-finite proposals are masked anyway.
    accepted = finite & (log_uniform < h0 - h1)  # (C,)
    z_new = torch.where(accepted[:, None], z1, z)  # (C, D)
    u_new = torch.where(accepted, u1, u)  # (C,)
    grad_new = torch.where(accepted[:, None], grad1, grad_u)  # (C, D)
    accept_prob = torch.where(
        finite, torch.exp(torch.clamp(h0 - h1, max=0.0)), torch.zeros_like(h0)
    )  # (C,)
    return z_new, u_new, grad_new, accepted, accept_prob


def prior_jump(
    log_prob: LogProb,
    z: Tensor,
    u: Tensor,
    grad_u: Tensor,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One independence Metropolis-Hastings jump from the prior, all chains at once.

    Every chain proposes z' ~ N(0, I), independent of its position, and moves
    there with probability min(1, q(z') N(z) / (q(z) N(z'))), q the target
    exp(log_prob). For LaSeR's target q = N w(g) / Z0 that is min(1, w(z') /
    w(z)). A proposal whose potential or gradient is not finite is rejected.

    Args:
        log_prob: Log target density up to a constant, (C, D) -> (C,).
        z: Current positions, shape (C, D).
        u: U = -log_prob at ``z``, shape (C,).
        grad_u: dU/dz at ``z``, shape (C, D).
        generator: Source of the proposals, then of the uniforms.

    Returns:
        ``(z, u, grad_u, accepted)``: the new state (C, D), (C,), (C, D) and a
        boolean mask (C,) of the chains that jumped.

    References:
        L. Tierney, Ann. Statist. 22 (1994) 1701, Sec. 2.3.3.
    """
    z1 = normal_like(z, generator)  # (C, D)
    u1, grad1 = potential_and_grad(log_prob, z1)  # (C,), (C, D)
    # log q(z') - log q(z) + log N(z) - log N(z')
    log_ratio = (u - u1) + 0.5 * (z1.square().sum(dim=1) - z.square().sum(dim=1))
    finite = torch.isfinite(u1) & torch.isfinite(grad1).all(dim=1)  # (C,)
    log_uniform = torch.log(uniform(z.shape[0], z, generator))  # (C,)
    accepted = finite & (log_uniform < log_ratio)  # (C,)
    return (
        torch.where(accepted[:, None], z1, z),
        torch.where(accepted, u1, u),
        torch.where(accepted[:, None], grad1, grad_u),
        accepted,
    )
