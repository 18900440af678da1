"""Pull-back of the classifier weights to the latent space: w(z) = w(g(z)) (Sec. 3)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from laser import mcmc
from laser.classifier import Classifier, logits
from laser.flows import RealNVP, transform
from laser.seeding import torch_generator

__all__ = ["latent_weights", "latent_log_prob", "sample_hmc"]


@torch.no_grad()
def latent_weights(
    flow: RealNVP, classifier: Classifier, z: np.ndarray, batch_size: int = 100_000
) -> tuple[np.ndarray, np.ndarray]:
    """x = g(z) and log w(g(z)) for latent points z (N, D).

    For a deterministic, surjective generator the weight of a latent point is the
    classifier weight of its image (arXiv:2106.00792, Sec. 3, Fig. 1).

    Returns:
        (x, log_w): images (N, D) float32 and log-weights (N,) float64.
    """
    param = next(flow.parameters())
    zt = torch.as_tensor(z)
    x = torch.cat(
        [flow.generate(b.to(param)).cpu() for b in torch.split(zt, batch_size)]
    )
    x = x.numpy().astype(np.float32)
    return x, logits(classifier, x, batch_size)


def latent_log_prob(
    flow: RealNVP, classifier: Classifier
) -> Callable[[torch.Tensor], torch.Tensor]:
    """log q(z) up to a constant, q(z) = p(z) w(g(z)) / Z0 (Eq. 3), for HMC.

    The potential U(z) = |z|^2/2 - log w(g(z)) is its negative; gradients flow
    through g and the classifier by autograd.
    """

    flow.requires_grad_(False)  # gradients w.r.t. z only
    classifier.requires_grad_(False)

    def log_prob(z: torch.Tensor) -> torch.Tensor:
        return -0.5 * (z**2).sum(-1) + classifier.log_weight(flow.generate(z))

    return log_prob


def sample_hmc(
    flow: RealNVP,
    classifier: Classifier,
    n_samples: int,
    config: mcmc.HMCConfig,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, mcmc.HMCResult]:
    """The HMC method: sample q(z) = p(z) w(g(z)) / Z0 by HMC and map through g.

    Chains start from z ~ N(0, I) in the flow's dtype and device; the burn-in
    is discarded (arXiv:2106.00792, Sec. 3 and 4.1).

    Returns:
        (z, x, result): latent samples and their images, each (n_samples, D)
        float32, and the sampler's result (acceptance rates).
    """
    param = next(flow.parameters())
    gen = torch_generator(seed, device=param.device)
    init = torch.randn(
        config.n_chains, flow.dim, generator=gen, device=param.device, dtype=param.dtype
    )  # (C, D)
    result = mcmc.sample(
        latent_log_prob(flow, classifier), init, n_samples, config, gen
    )
    z = result.samples
    return z.cpu().numpy().astype(np.float32), transform(flow, z), result
