"""LaSeR's unweighting: the flow refiner's draws, accepted with probability
q(z) / (M r(z)), are independent draws of the latent target q(z) (Eq. 3).

A flow refiner r learns q(z) = N(z; 0, I) w(g(z)) / Z0 from the weighted latent
points (:mod:`laser.models.refiners`), and it has an exact density: a draw
z = phi(y) comes with log r(z). Where r is close to q, the ratio q / r is close to a
constant, and one accept/reject step on it (rejection sampling with r as the
proposal, :func:`laser.latent.rejection.rejection_sample`) removes what the refiner
got wrong: mode shares it misplaced, mass it left in the valleys between modes.
The refined sample is then as good as its weights, at the cost of 1 / acceptance
refiner draws and classifier calls per sample; the acceptance E_r[min(1, q / (M r))]
measures how well the refiner learned q (1 for r = q / M).

The bound M is set as for the rejection method, from a pilot of the ratio (its
largest value or a quantile); the clipped mass, which bounds the error of the
sample, is in the same diagnostics table (written to the job's log in the
workflow). A GAN refiner has no density, so it cannot be unweighted.

References:
    arXiv:2106.00792, Sec. 3: LaSeR, the target q(z) and the refiner.
    J. von Neumann (1951): rejection sampling.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from laser.latent.rejection import Proposal, RejectionConfig, sample_rejection
from laser.latent.target import LatentSample, Target
from laser.models import flows, refiners
from laser.progress import Progress

__all__ = ["refiner_proposal", "sample_unweighted", "refiner_inputs"]


def refiner_proposal(model: nn.Module) -> Proposal:
    """The flow refiner as a proposal: n draws z = phi(y), y ~ N(0, I), (n, D),
    with log(r(z) / N(z; 0, I)) (n,), from one pass in the generator direction.

    Raises:
        ValueError: for a GAN refiner, which has no density (the message names
            ``refiner.kind``).
    """
    if not isinstance(model, flows.RealNVP):
        raise ValueError(
            "refiner.unweight needs a flow refiner (refiner.kind: flow): a "
            f"{refiners.kind_of(model)} refiner has no density to unweight by"
        )
    param = next(model.parameters())

    def propose(
        n: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randn(
            n,
            model.width,
            generator=generator,
            dtype=torch.float64,
            device=generator.device,
        ).to(param)  # (n, D)
        z, log_r = refiners.log_prob_of_generated(model, y)  # (n, D), (n,)
        z = z.float().to(param)  # as stored (log r is that of the unrounded z)
        log_n = -0.5 * (z**2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)
        return z, log_r - log_n

    return propose


def sample_unweighted(
    config: RejectionConfig,
    target: Target,
    n_samples: int,
    seed: int,
    *,
    refiner: nn.Module,
    dataset: str = "",
    method: str = "laser",
    progress: Progress | None = None,
) -> LatentSample:
    """The unweighted refined generator: z = phi(y) accepted with probability
    min(1, q(z) / (M r(z))), and x = g(z).

    Args:
        config: the accept/reject settings (the bound M: pilot, quantile, factor).
        target: q(z), from the generator and the classifier weight.
        n_samples: number of samples (>= 1).
        seed: seeds the pilot, the refiner's draws and the accept steps.
        refiner: a flow refiner phi, trained on q's weighted points.
        dataset: dataset name, for the diagnostics table.
        method: method name, for the diagnostics table.
        progress: the job's saved progress, to continue an interrupted run.

    Returns:
        z and x = g(z), each (n_samples, D) float32, the diagnostics table of
        :func:`laser.latent.diagnostics.rejection_table` (acceptance, bound,
        clipped mass) and the :class:`~laser.latent.rejection.RejectionResult`.

    Raises:
        ValueError: for a GAN refiner, or one whose dimension is not q's.
    """
    if refiner.dim != target.dim:
        raise ValueError(
            f"the refiner maps to {refiner.dim} dimensions, but the "
            f"generator's latent space has {target.dim}"
        )
    propose = refiner_proposal(refiner)
    return sample_rejection(
        config,
        target,
        n_samples,
        seed,
        dataset=dataset,
        method=method,
        progress=progress,
        proposal=propose,
    )


@torch.no_grad()
def refiner_inputs(
    refiner: nn.Module, z: torch.Tensor, batch_size: int = 100_000
) -> torch.Tensor:
    """y = phi^-1(z) (N, D) float32: the flow refiner's input of each kept z, in
    batches of ``batch_size`` rows, on the refiner's device and in its dtype."""
    param = next(refiner.parameters())
    ys = [refiner(b.to(param))[0].float().cpu() for b in torch.split(z, batch_size)]
    return torch.cat(ys)
