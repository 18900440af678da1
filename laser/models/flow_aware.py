"""What makes the classifier aware of the baseline flow (config ``classifier``):
the flow's exact log-density log p_g(x) as a standardised extra input
(``log_density``), its one-pass form from the latent side, and a fresh generated
sample for every epoch (``fresh_generated``).

A classifier that sees log p_g(x) only has to learn how the log-ratio
log p_data/p_g depends on it and on x; where the baseline's errors follow its own
density (sharp features blurred, tails too heavy), that is nearly a function of
log p_g alone, which a plain MLP of x must build from scratch. The flow travels
inside the classifier's checkpoint, so ``log_weight(x)`` stays a function of x
alone wherever the classifier is used.

A fresh generated sample per epoch (the data sample stays fixed) leaves the
classifier no generated point to memorise: the generated side of the loss is then
an unbiased estimate of its expectation in every epoch. Epoch e >= 2 draws with the
seed :func:`epoch_seed` (seed, e), so a resumed training draws the same points.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from laser.models.flows import RealNVP
from laser.seeding import derive_seed

__all__ = [
    "DensityFeature",
    "check_density",
    "generate_with_log_prob",
    "same_flow",
    "epoch_seed",
    "fresh_sampler",
]


class DensityFeature(nn.Module):
    """s(x) = (log p_g(x) - shift) / scale of a frozen flow, as a column (N, 1).

    ``shift`` and ``scale`` (the mean and standard deviation of log p_g over the
    training points, :meth:`standardise_on`) keep the input of order one in
    float32, where log p_g itself may be large and negative.

    Args:
        flow: the baseline, with ``log_prob(x)`` (and ``hparams`` for a
            checkpoint); its parameters are frozen.
    """

    def __init__(self, flow: nn.Module):
        super().__init__()
        self.flow = flow.requires_grad_(False)
        self.register_buffer("shift", torch.zeros(()))
        self.register_buffer("scale", torch.ones(()))

    def column(self, log_p: Tensor) -> Tensor:
        """The standardised input (N, 1) from log p_g (N,)."""
        return ((log_p - self.shift) / self.scale).unsqueeze(-1)

    def forward(self, x: Tensor) -> Tensor:
        """log p_g(x) (N,) of points x (N, D), differentiable in x."""
        return self.flow.log_prob(x)

    @torch.no_grad()
    def log_prob(self, x: Tensor, batch_size: int = 100_000) -> Tensor:
        """log p_g(x) (N,) in batches, without gradients (training inputs)."""
        return torch.cat([self.flow.log_prob(b) for b in torch.split(x, batch_size)])

    def standardise_on(self, log_p: Tensor) -> None:
        """Set shift and scale from log p_g (N,) of the training points."""
        self.shift.copy_(log_p.mean())
        self.scale.copy_(log_p.std().clamp_min(1e-6))


def check_density(flow: nn.Module, what: str = "classifier.log_density") -> None:
    """Refuse a generator without an exact density for the config key `what`.

    Raises:
        ValueError: unless `flow` is a RealNVP of D >= 2 (a 1-D flow's density is
            an estimate with a random auxiliary coordinate).
    """
    if not isinstance(flow, RealNVP):
        raise ValueError(
            f"'{what}' needs the exact density of a flow baseline "
            f"(baseline.kind: flow), not a {type(flow).__name__}"
        )
    if flow.dim < 2:
        raise ValueError(
            f"'{what}' needs an exact density, but the flow of a 1-D dataset only "
            "estimates it (augmented flow): set it false"
        )


def generate_with_log_prob(flow: RealNVP, z: Tensor) -> tuple[Tensor, Tensor]:
    """x = g(z) and log p_g(x) from latent points z (N, L), in one pass of g.

    log p_g(g(z)) = log N(z; 0, I) - log|det dg/dz| (Eq. 2 of arXiv:2106.00792
    read backwards), with the feature transforms' log-determinant at x: equal to
    ``flow.log_prob(flow.generate(z))`` without the inverse pass (D >= 2).

    Returns:
        (x, log_p_g): (N, D) and (N,), differentiable in z.
    """
    u, log_jac_rev = flow.inn(z, rev=True)  # log|det du/dz| (N,)
    x = flow.transform.inverse(flow.shift + flow.scale * u[:, : flow.dim])  # (N, D)
    log_t = flow.transform(x)[1]  # log|det dT/dx| (N,)
    log_pz = -0.5 * (z**2).sum(-1) - 0.5 * flow.width * math.log(2 * math.pi)
    return x, log_pz - log_jac_rev - torch.log(flow.scale).sum() + log_t


def same_flow(a: nn.Module, b: nn.Module) -> bool:
    """Whether a and b are the same RealNVP: equal hparams and equal tensors."""
    if not (isinstance(a, RealNVP) and isinstance(b, RealNVP)):
        return False
    if a is b:
        return True
    sa, sb = a.state_dict(), b.state_dict()
    return (
        a.hparams == b.hparams
        and sa.keys() == sb.keys()
        and all(
            sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k].to(sa[k].device))
            for k in sa
        )
    )


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch `epoch`'s fresh generated sample (epochs >= 2).

    Examples:
        >>> epoch_seed(7, 2) == epoch_seed(7, 2) != epoch_seed(7, 3)
        True
    """
    return derive_seed(seed, "fresh_generated", epoch)


def fresh_sampler(
    draw: Callable[[int], np.ndarray], seed: int
) -> Callable[[int], np.ndarray]:
    """The generated sample of each epoch: ``draw(epoch_seed(seed, e))`` (M, D).

    Args:
        draw: maps a seed to a generated sample of the fixed size M.
        seed: the training's seed.
    """
    return lambda epoch: draw(epoch_seed(seed, epoch))
