"""The oracle: the HMC method on the exact weights w*(x) = p_data(x) / p_g(x) of a toy.

A perfect classifier has f/(1-f) = p_data/p_g (arXiv:2106.00792, Sec. 3). For the
paper's toys p_data is known (:func:`laser.data.toys.log_prob`) and the flow's
density p_g is exact (:meth:`laser.models.flows.RealNVP.log_prob`), so the ideal weight,
pulled back to the latent space as w*(g(z)), can be sampled by the same HMC as the
learned one. Its scores mark the best a perfect classifier could give: what is left
is the sampler's (finite chains, burn-in, step size) and the noise floor's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from laser.data import toys as datasets
from laser.latent.hmc import HMCConfig, sample_hmc
from laser.latent.target import LatentSample, Target
from laser.models import classifier
from laser.models.classifier import LOGIT_BOUND
from laser.models.flows import RealNVP
from laser.progress import Progress
from laser.seeding import split

__all__ = [
    "ExactWeight",
    "exact_log_weights",
    "generate_with_log_prob",
    "latent_log_prob",
    "exact_target",
    "sample_oracle",
]


class ExactWeight(nn.Module):
    """The exact log-weight log w*(x) = log p_data(x) - log p_g(x) of a toy.

    It has a classifier's interface (`forward` gives the logit, `log_weight`
    the clamped log-weight), so the samplers of :mod:`laser.latent` run on it
    unchanged. The flow is a submodule; gradients reach x through both terms.

    Args:
        flow: the baseline g, whose exact density is p_g.
        dataset: the toy whose density is p_data (a key of `datasets.TOYS`).

    References:
        arXiv:2106.00792, Sec. 3 (w = p_data/p_g, Eq. 3) and Eq. (2) (p_g).
    """

    def __init__(self, flow: RealNVP, dataset: str):
        super().__init__()
        if split(dataset)[0] not in datasets.TOYS:
            raise ValueError(
                f"no exact density for dataset '{dataset}': the oracle needs one "
                f"of the toys {sorted(datasets.TOYS)}"
            )
        self.flow = flow
        self.dataset = dataset

    def forward(self, x: Tensor) -> Tensor:
        """The unclamped log w*(x) (N,) of points x (N, D)."""
        return datasets.log_prob(self.dataset, x) - self.flow.log_prob(x)

    def log_weight(self, x: Tensor) -> Tensor:
        """log w*(x) (N,), clamped to +-LOGIT_BOUND like the learned log-weight
        (:meth:`laser.models.classifier.Classifier.log_weight`)."""
        return self(x).clamp(-LOGIT_BOUND, LOGIT_BOUND)


@torch.no_grad()
def exact_log_weights(
    flow: RealNVP, dataset: str, x: np.ndarray, batch_size: int = 100_000
) -> np.ndarray:
    """Clamped exact log-weights log w*(x) of points x (N, D), as float64 (N,).

    Computed in the flow's dtype and device, in batches; the counterpart of
    :func:`laser.models.classifier.logits` for a perfect classifier.
    """
    # ExactWeight has the classifier's interface, and the flow's parameters
    return classifier.logits(ExactWeight(flow, dataset), x, batch_size)


def generate_with_log_prob(flow: RealNVP, z: Tensor) -> tuple[Tensor, Tensor]:
    """x = g(z) and log p_g(x) from latent points z (N, D), in one pass of g.

    log p_g(g(z)) = log N(z; 0, I) - log|det dg/dz| (Eq. 2, read backwards):
    exact at the very z, without inverting x again as `flow.log_prob(x)` does.

    Returns:
        (x, log_p_g): (N, D) and (N,), differentiable in z.
    """
    u, log_jac_rev = flow.inn(z, rev=True)  # log|det du/dz| (N,)
    x = flow.shift + flow.scale * u  # (N, D)
    log_pz = -0.5 * (z**2).sum(-1) - 0.5 * flow.dim * math.log(2 * math.pi)
    return x, log_pz - log_jac_rev - torch.log(flow.scale).sum()


def latent_log_prob(flow: RealNVP, dataset: str) -> Callable[[Tensor], Tensor]:
    """log q*(z) up to a constant, q*(z) = p(z) w*(g(z)) / Z (Eq. 3), for HMC.

    The oracle's counterpart of :func:`laser.latent.target.latent_log_prob`: the
    same target with the exact weight, log w* clamped to +-LOGIT_BOUND, but
    log p_g(g(z)) taken from z (:func:`generate_with_log_prob`), so one pass
    of g per evaluation (the classifier's pass saved, none added).
    """
    flow.requires_grad_(False)  # gradients w.r.t. z only

    def log_prob(z: Tensor) -> Tensor:
        x, log_p_g = generate_with_log_prob(flow, z)
        log_w = (datasets.log_prob(dataset, x) - log_p_g).clamp(
            -LOGIT_BOUND, LOGIT_BOUND
        )
        return -0.5 * (z**2).sum(-1) + log_w

    return log_prob


def exact_target(flow: RealNVP, dataset: str) -> Target:
    """q*(z) = p(z) w*(g(z)) / Z of a toy: the exact weight and the one-pass
    log density :func:`latent_log_prob`.

    Raises:
        ValueError: for a dataset without exact density.
    """
    weight = ExactWeight(flow, dataset)  # checks the dataset
    return Target(flow, weight, exact_log_prob=latent_log_prob(flow, dataset))


def sample_oracle(
    config: HMCConfig,
    target: Target,
    n_samples: int,
    seed: int,
    *,
    dataset: str = "",
    method: str = "oracle",
    progress: Progress | None = None,
) -> LatentSample:
    """The oracle method: HMC on q*(z) = p(z) w*(g(z)) / Z, mapped through g.

    :func:`laser.latent.hmc.sample_hmc` (same sampler, settings, starts and
    seed use, burn-in discarded) on an exact target (:func:`exact_target`):
    chains start at z ~ N(0, I) (``config.init == "prior"``) or at prior
    points resampled by w*(g(z)) (``"resample"``). Since p(z) w*(g(z)) =
    p_data(g(z)) |det dg/dz|, g maps q* onto p_data itself (up to the clamp),
    whatever the quality of g. `progress` continues interrupted chains.

    Raises:
        ValueError: for a target whose weight is not exact.

    References:
        arXiv:2106.00792, Sec. 3, Eq. (3) and Sec. 4.1 (HMC settings).
    """
    if not isinstance(target.weight, ExactWeight):
        raise ValueError(
            "the oracle samples an exact target (oracle.exact_target), got the "
            f"weight {type(target.weight).__name__}"
        )
    return sample_hmc(
        config,
        target,
        n_samples,
        seed,
        dataset=dataset,
        method=method,
        progress=progress,
    )
