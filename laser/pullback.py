"""Pull-back of the classifier weights to the latent space: w(z) = w(g(z)) (Sec. 3).

The generator g (argument ``flow``) is any model of :mod:`laser.generators`: a
RealNVP, a GAN generator or a refined generator, with ``generate(z)`` and
``latent_dim``; its latent prior is N(0, I_L)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from laser import mcmc
from laser.classifier import Classifier, logits
from laser.flows import transform
from laser.seeding import torch_generator

__all__ = [
    "latent_weights",
    "latent_log_prob",
    "resampled_init",
    "chain_start",
    "hmc_settings",
    "sample_hmc",
    "sample_latent",
]


@torch.no_grad()
def latent_weights(
    flow: nn.Module, classifier: Classifier, z: np.ndarray, batch_size: int = 100_000
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
    flow: nn.Module, classifier: Classifier
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


def hmc_settings(section: dict) -> tuple[mcmc.HMCConfig, str]:
    """The config's ``hmc`` section as the sampler's settings and the start mode.

    ``init`` (``prior`` or ``resample``) chooses the chains' start
    (:func:`sample_latent`); every other key is a field of
    :class:`laser.mcmc.HMCConfig`.
    """
    settings = dict(section)
    init = settings.pop("init", "prior")
    return mcmc.HMCConfig(**settings), init


def _prior(flow: nn.Module, n: int, generator: torch.Generator) -> torch.Tensor:
    """n draws z ~ N(0, I_L) of g's latent prior, in its dtype and on its device."""
    param = next(flow.parameters())
    return torch.randn(
        n, flow.latent_dim, generator=generator, device=param.device, dtype=param.dtype
    )


def resampled_init(
    flow: nn.Module,
    classifier: Classifier,
    n_chains: int,
    generator: torch.Generator,
    pool: int | None = None,
) -> torch.Tensor:
    """Starting points of q(z) by sampling-importance-resampling from the prior.

    Draws ``pool`` (default max(10 n_chains, 100000)) points z ~ N(0, I) and
    picks ``n_chains`` of them with replacement, with probabilities
    proportional to w(g(z)): approximately q(z), so the chains start with the
    target's share of every mode (Rubin 1988; a chain cannot fix wrong shares
    by crossing low-weight gaps in a short run). Duplicated points part after
    the first iteration (independent momenta).

    Returns:
        (n_chains, D) in the flow's dtype and device.
    """
    pool = max(10 * n_chains, 100_000) if pool is None else pool
    z = _prior(flow, pool, generator)  # (pool, D)
    with torch.no_grad():
        log_w = torch.cat(
            [classifier.log_weight(flow.generate(b)) for b in torch.split(z, 100_000)]
        )  # (pool,)
    prob = torch.exp(log_w.double() - log_w.max().double())  # (pool,)
    idx = torch.multinomial(prob, n_chains, replacement=True, generator=generator)
    return z[idx]


def chain_start(
    flow: nn.Module,
    weight: Classifier,
    n_chains: int,
    generator: torch.Generator,
    init: str = "prior",
) -> torch.Tensor:
    """Start points (n_chains, D) of latent chains, in the flow's dtype and device:
    prior draws z ~ N(0, I) (``init="prior"``) or :func:`resampled_init`
    (``init="resample"``).

    Raises:
        ValueError: for an unknown init.
    """
    if init == "prior":
        return _prior(flow, n_chains, generator)  # (C, D)
    if init == "resample":
        return resampled_init(flow, weight, n_chains, generator)
    raise ValueError(f"init must be 'prior' or 'resample', got {init!r}")


def sample_hmc(
    flow: nn.Module,
    classifier: Classifier,
    n_samples: int,
    config: mcmc.HMCConfig,
    seed: int,
    init: str = "prior",
) -> tuple[np.ndarray, np.ndarray, mcmc.HMCResult]:
    """The HMC method: sample q(z) = p(z) w(g(z)) / Z0 by HMC and map through g.

    Chains start from z ~ N(0, I) (``init="prior"``, the paper) or from
    :func:`resampled_init` (``init="resample"``), in the flow's dtype and
    device; the burn-in is discarded (arXiv:2106.00792, Sec. 3 and 4.1).

    Returns:
        (z, x, result): latent samples and their images, each (n_samples, D)
        float32, and the sampler's result (acceptance rates, step size).
    """
    log_prob = latent_log_prob(flow, classifier)
    return sample_latent(flow, log_prob, classifier, n_samples, config, seed, init)


def sample_latent(
    flow: nn.Module,
    log_prob: Callable[[torch.Tensor], torch.Tensor],
    weight: Classifier,
    n_samples: int,
    config: mcmc.HMCConfig,
    seed: int,
    init: str = "prior",
) -> tuple[np.ndarray, np.ndarray, mcmc.HMCResult]:
    """HMC on a latent log density ``log_prob``, mapped through g.

    The shared sampler of the HMC and oracle methods: ``weight`` (anything
    with ``log_weight(x)``) only serves the ``init="resample"`` start.

    Returns:
        (z, x, result) as :func:`sample_hmc`.

    Raises:
        ValueError: for an unknown init.
    """
    param = next(flow.parameters())
    gen = torch_generator(seed, device=param.device)
    start = chain_start(flow, weight, config.n_chains, gen, init)
    result = mcmc.sample(log_prob, start, n_samples, config, gen)
    z = result.samples
    return z.cpu().numpy().astype(np.float32), transform(flow, z), result
