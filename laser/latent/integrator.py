"""The leapfrog integrator of Hamiltonian dynamics and the potential energy of a
latent log density, by autograd: the pure parts of HMC (and of Langevin's step)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = [
    "LogProb",
    "GradPotential",
    "chunked",
    "potential_and_grad",
    "leapfrog",
    "chain_state",
    "restore_chains",
    "normal_like",
    "uniform",
]

#: A log density up to a constant, acting row by row: points (C, D) -> (C,).
LogProb = Callable[[Tensor], Tensor]
#: Positions (C, D) -> (U (C,), dU/dz (C, D)).
GradPotential = Callable[[Tensor], tuple[Tensor, Tensor]]


def chunked(log_prob: LogProb, chunk_size: int) -> LogProb:
    """``log_prob`` evaluated on at most ``chunk_size`` rows per call.

    Exact for a log density acting row by row; the concatenation keeps the
    autograd graph, so gradients flow as without chunking.
    """

    def log_prob_chunked(z: Tensor) -> Tensor:
        if z.shape[0] <= chunk_size:
            return log_prob(z)
        return torch.cat([log_prob(b) for b in torch.split(z, chunk_size)])

    return log_prob_chunked


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


def chain_state(z: Tensor, u: Tensor, grad_u: Tensor, kept: Tensor) -> dict:
    """The chains' part of a sampler's saved progress (:mod:`laser.progress`):
    positions (C, D), potentials (C,), gradients (C, D) and the rows kept so far
    (a copy: a saved view would carry its whole buffer)."""
    return {"z": z, "u": u, "grad_u": grad_u, "samples": kept.clone()}


def restore_chains(saved: dict, out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Put the kept rows of a :func:`chain_state` back at the top of `out`;
    return the chains' (z, u, grad_u) in `out`'s dtype and on its device."""
    kept = saved["samples"]
    out[: len(kept)] = kept.to(out)
    return tuple(saved[k].to(out) for k in ("z", "u", "grad_u"))


def normal_like(x: Tensor, generator: torch.Generator) -> Tensor:
    """Standard normals shaped like ``x`` from ``generator`` (drawn on its
    device, moved to x's)."""
    draw = torch.randn(
        x.shape, generator=generator, dtype=x.dtype, device=generator.device
    )
    return draw.to(x.device)


def uniform(n: int, like: Tensor, generator: torch.Generator) -> Tensor:
    """``n`` uniforms on [0, 1) in the dtype of ``like`` from ``generator``."""
    draw = torch.rand(n, generator=generator, dtype=like.dtype, device=generator.device)
    return draw.to(like.device)
