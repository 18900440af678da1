"""Batched Hamiltonian Monte Carlo on an unnormalised latent density (LaSeR Eq. 3)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "HMCConfig",
    "HMCResult",
    "hmc_step",
    "leapfrog",
    "potential_and_grad",
    "sample",
]

logger = logging.getLogger(__name__)

LogProb = Callable[[Tensor], Tensor]
GradPotential = Callable[[Tensor], tuple[Tensor, Tensor]]


def _check_positive_int(name: str, value: object, minimum: int) -> None:
    """Raise ValueError unless ``value`` is an int (not bool) and >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"HMCConfig.{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"HMCConfig.{name} must be >= {minimum}, got {value}")


@dataclass(frozen=True)
class HMCConfig:
    """Settings of the Hamiltonian Monte Carlo sampler.

    The defaults are the paper's: 100 chains advanced together, leapfrog step
    size 0.004, 50 leapfrog steps per trajectory and the first 3000 iterations
    of every chain discarded as burn-in. The mass matrix is the identity.

    Attributes:
        step_size: Leapfrog step size epsilon (> 0, finite).
        n_leapfrog: Leapfrog steps per trajectory (>= 1).
        n_chains: Number of chains advanced together as one batch (>= 1).
        burn_in: Iterations discarded at the start of every chain (>= 0).
        log_every: Iterations between progress lines in the log (>= 1).

    Raises:
        ValueError: If a field is out of range; the message names the field.

    References:
        Winterhalder, Bellagente, Nachman, "Latent Space Refinement for
        Deep Generative Models", arXiv:2106.00792, Sec. 4.1.
        R. M. Neal, "MCMC using Hamiltonian dynamics", arXiv:1206.1901.
    """

    step_size: float = 0.004  # leapfrog step epsilon (Sec. 4.1)
    n_leapfrog: int = 50  # leapfrog steps per trajectory
    n_chains: int = 100  # chains advanced together as one batch
    burn_in: int = 3000  # iterations discarded at the start of every chain
    log_every: int = 100  # iterations between progress lines in the log

    def __post_init__(self) -> None:
        """Validate the fields."""
        step = self.step_size
        if isinstance(step, bool) or not isinstance(step, (int, float)):
            raise ValueError(f"HMCConfig.step_size must be a float, got {step!r}")
        if not (math.isfinite(step) and step > 0):
            raise ValueError(f"HMCConfig.step_size must be finite and > 0, got {step}")
        _check_positive_int("n_leapfrog", self.n_leapfrog, 1)
        _check_positive_int("n_chains", self.n_chains, 1)
        _check_positive_int("burn_in", self.burn_in, 0)
        _check_positive_int("log_every", self.log_every, 1)


@dataclass
class HMCResult:
    """Output of :func:`sample`.

    Attributes:
        samples: Kept draws, shape (n_samples, D), iteration-major: the
            ``n_chains`` rows of the first kept iteration (chain order), then
            those of the second, and so on; the last iteration is truncated
            to its first chains when n_samples is not a multiple of n_chains.
        acceptance_rate: Fraction of accepted proposals over all kept
            iterations and all chains.
        burn_in_acceptance_rate: The same over the burn-in iterations
            (``nan`` when burn_in is 0).
    """

    samples: Tensor  # (n_samples, D)
    acceptance_rate: float
    burn_in_acceptance_rate: float


def potential_and_grad(log_prob: LogProb, z: Tensor) -> tuple[Tensor, Tensor]:
    """Potential energy U(z) = -log_prob(z) and its gradient, by autograd.

    Args:
        log_prob: Log of the target density up to a constant; maps a batch
            of points (C, D) to a tensor (C,). Must act row by row.
        z: Positions, shape (C, D).

    Returns:
        ``(u, grad_u)``: U(z) of shape (C,) and dU/dz of shape (C, D), both
        detached from any graph. A log_prob that does not depend on z yields
        a zero gradient.

    Raises:
        ValueError: If log_prob does not return shape (C,).

    References:
        arXiv:2106.00792, Sec. 3 (Eq. 3) and Sec. 4.1.
        R. M. Neal, arXiv:1206.1901, Sec. 2 and 5.
    """
    with torch.enable_grad():
        z_leaf = z.detach().requires_grad_(True)  # (C, D)
        log_q = log_prob(z_leaf)  # (C,)
        if log_q.shape != z.shape[:1]:
            raise ValueError(
                f"log_prob must return shape ({z.shape[0]},), got {tuple(log_q.shape)}"
            )
        grad_u = None
        if log_q.requires_grad:
            # Rows are independent, so one vector-Jacobian product with -1 per
            # row gives every chain's dU/dz (cheaper than grad of (-log_q).sum()).
            (grad_u,) = torch.autograd.grad(
                log_q,
                z_leaf,
                grad_outputs=torch.full_like(log_q, -1.0),
                allow_unused=True,
            )
    if grad_u is None:
        grad_u = torch.zeros_like(z)  # (C, D)
    return -log_q.detach(), grad_u.detach()  # (C,), (C, D)


def leapfrog(
    z: Tensor,
    p: Tensor,
    grad_u: Tensor,
    step_size: float,
    n_steps: int,
    grad_potential: GradPotential,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Leapfrog (Stoermer-Verlet) integration of Hamiltonian dynamics.

    H(z, p) = U(z) + |p|^2 / 2 (identity mass). The half momentum steps of
    consecutive steps are merged, so the integrator costs exactly ``n_steps``
    gradient evaluations, and the gradient at the end point is returned for
    reuse by the next trajectory.

    Args:
        z: Start positions, shape (C, D).
        p: Start momenta, shape (C, D).
        grad_u: dU/dz at ``z``, shape (C, D) (not recomputed).
        step_size: Step size epsilon.
        n_steps: Number of leapfrog steps (>= 1).
        grad_potential: Maps positions (C, D) to ``(U (C,), dU/dz (C, D))``,
            e.g. ``functools.partial(potential_and_grad, log_prob)``.

    Returns:
        ``(z, p, u, grad_u)`` at the end of the trajectory: positions and
        momenta (C, D), U (C,) and dU/dz (C, D) at the new positions.

    Raises:
        ValueError: If n_steps < 1.

    References:
        R. M. Neal, arXiv:1206.1901, Sec. 2.3 (Eqs. 2.28-2.30).
        arXiv:2106.00792, Sec. 4.1.
    """
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    u = None
    half = 0.5 * step_size
    p = torch.add(p, grad_u, alpha=-half)  # (C, D)
    for i in range(n_steps):
        z = torch.add(z, p, alpha=step_size)  # (C, D)
        u, grad_u = grad_potential(z)  # (C,), (C, D)
        if i < n_steps - 1:
            p = torch.add(p, grad_u, alpha=-step_size)  # (C, D)
    p = torch.add(p, grad_u, alpha=-half)  # (C, D)
    return z, p, u, grad_u


def _randn_like(x: Tensor, generator: torch.Generator) -> Tensor:
    """Draw standard normals shaped like ``x`` from ``generator``."""
    draw = torch.randn(
        x.shape, generator=generator, dtype=x.dtype, device=generator.device
    )
    return draw.to(x.device)


def _rand(n: int, like: Tensor, generator: torch.Generator) -> Tensor:
    """Draw ``n`` uniforms on [0, 1) in the dtype of ``like`` from ``generator``."""
    draw = torch.rand(n, generator=generator, dtype=like.dtype, device=generator.device)
    return draw.to(like.device)


def hmc_step(
    log_prob: LogProb,
    z: Tensor,
    u: Tensor,
    grad_u: Tensor,
    config: HMCConfig,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
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

    Returns:
        ``(z, u, grad_u, accepted)``: the new state (C, D), (C,), (C, D)
        and a boolean mask (C,) of the chains whose proposal was accepted.

    References:
        R. M. Neal, arXiv:1206.1901, Sec. 3.2.
        arXiv:2106.00792, Sec. 3 and 4.1.
    """

    def grad_potential(x: Tensor) -> tuple[Tensor, Tensor]:
        return potential_and_grad(log_prob, x)

    p0 = _randn_like(z, generator)  # (C, D)
    z1, p1, u1, grad1 = leapfrog(
        z, p0, grad_u, config.step_size, config.n_leapfrog, grad_potential
    )
    h0 = u + 0.5 * p0.square().sum(dim=1)  # (C,)
    h1 = u1 + 0.5 * p1.square().sum(dim=1)  # (C,)
    finite = (
        torch.isfinite(h1)
        & torch.isfinite(z1).all(dim=1)
        & torch.isfinite(grad1).all(dim=1)
    )  # (C,)
    log_uniform = torch.log(_rand(z.shape[0], z, generator))  # (C,)
    # NaN comparisons are False, and non-finite proposals are masked anyway.
    accepted = finite & (log_uniform < h0 - h1)  # (C,)
    z_new = torch.where(accepted[:, None], z1, z)  # (C, D)
    u_new = torch.where(accepted, u1, u)  # (C,)
    grad_new = torch.where(accepted[:, None], grad1, grad_u)  # (C, D)
    return z_new, u_new, grad_new, accepted


def sample(
    log_prob: LogProb,
    init: Tensor,
    n_samples: int,
    config: HMCConfig,
    generator: torch.Generator,
) -> HMCResult:
    """Draw samples from q(z) proportional to exp(log_prob(z)) with batched HMC.

    ``config.n_chains`` chains start at the rows of ``init`` and are advanced
    together. The first ``config.burn_in`` iterations are discarded, then
    ``ceil(n_samples / n_chains)`` iterations are kept, giving exactly
    ``n_samples`` rows in iteration-major order. In LaSeR, log_prob(z) is
    -|z|^2 / 2 + log w(g(z)), the latent prior times the refinement weight.

    Args:
        log_prob: Log target density up to a constant, (C, D) -> (C,),
            differentiable by autograd and acting row by row.
        init: Starting points, shape (n_chains, D); dtype and device of the
            output follow it.
        n_samples: Number of samples to return (>= 1).
        config: Sampler settings.
        generator: Source of all randomness; the same seed gives the same
            samples bit for bit (on the same machine and build). It should
            live on ``init``'s device; otherwise draws are made on the
            generator's device and moved.

    Returns:
        An :class:`HMCResult` with samples (n_samples, D) and acceptance rates.

    Raises:
        ValueError: If init is not 2-D, its row count differs from
            config.n_chains, n_samples < 1, or log_prob (or its gradient) is
            not finite at a starting point.

    References:
        arXiv:2106.00792, Sec. 3 (Eq. 3) and Sec. 4.1.
        R. M. Neal, "MCMC using Hamiltonian dynamics", arXiv:1206.1901.
    """
    if init.dim() != 2:
        raise ValueError(f"init must have shape (n_chains, D), got {tuple(init.shape)}")
    n_chains, dim = init.shape
    if n_chains != config.n_chains:
        raise ValueError(
            f"init has {n_chains} rows but config.n_chains is {config.n_chains}"
        )
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be an int >= 1, got {n_samples!r}")

    z = init.detach().clone()  # (C, D)
    u, grad_u = potential_and_grad(log_prob, z)  # (C,), (C, D)
    bad = ~(torch.isfinite(u) & torch.isfinite(grad_u).all(dim=1))  # (C,)
    if bool(bad.any()):
        idx = torch.nonzero(bad).flatten()[:10].tolist()
        raise ValueError(
            "log_prob or its gradient is not finite at "
            f"{int(bad.sum())} starting point(s), e.g. chains {idx}"
        )

    n_keep = math.ceil(n_samples / n_chains)
    n_total = config.burn_in + n_keep
    out = torch.empty((n_samples, dim), dtype=init.dtype, device=init.device)
    burn_accepts = torch.zeros((), dtype=torch.long, device=init.device)
    keep_accepts = torch.zeros((), dtype=torch.long, device=init.device)
    start = time.perf_counter()
    logger.info(
        "HMC: %d chains, D=%d, %d burn-in + %d kept iterations, step %g x %d",
        n_chains,
        dim,
        config.burn_in,
        n_keep,
        config.step_size,
        config.n_leapfrog,
    )
    with torch.no_grad():
        for it in range(n_total):
            z, u, grad_u, accepted = hmc_step(log_prob, z, u, grad_u, config, generator)
            if it < config.burn_in:
                burn_accepts += accepted.sum()
            else:
                row = (it - config.burn_in) * n_chains
                n_rows = min(n_chains, n_samples - row)
                out[row : row + n_rows] = z[:n_rows]  # (n_rows, D)
                keep_accepts += accepted.sum()
            done = it + 1
            if done % config.log_every == 0 or done == n_total:
                total = int(burn_accepts + keep_accepts)
                logger.info(
                    "HMC iteration %d/%d (%s): acceptance so far %.4f, %.1f s",
                    done,
                    n_total,
                    "burn-in" if it < config.burn_in else "sampling",
                    total / (done * n_chains),
                    time.perf_counter() - start,
                )

    acceptance = int(keep_accepts) / (n_keep * n_chains)
    burn_rate = (
        int(burn_accepts) / (config.burn_in * n_chains) if config.burn_in else math.nan
    )
    elapsed = time.perf_counter() - start
    logger.info(
        "HMC done: %d samples in %.1f s, acceptance %.4f (burn-in %.4f)",
        n_samples,
        elapsed,
        acceptance,
        burn_rate,
    )
    return HMCResult(
        samples=out, acceptance_rate=acceptance, burn_in_acceptance_rate=burn_rate
    )
