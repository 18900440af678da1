"""The LaSeR refiner phi: y -> z, of either kind of Table 2 (arXiv:2106.00792).

`gan` (the paper's LaSeR): the weighted-BCE GAN of :mod:`laser.models.gan`, trained on
the weighted latent points (z, w(g(z))). `flow`: a RealNVP of :mod:`laser.models.flows`
trained on the same points by weighted maximum likelihood, -sum w log r(z) / sum w;
phi is its generator direction, y ~ N(0, I_D).

The refined generator is g(phi(y)) whatever the kinds; this module picks the
training, rebuilding and sampling functions from the refiner's kind (or from a
checkpoint's hparams), and names the caveat of each generator-refiner pair.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch import nn

from laser.models import flows, gan
from laser.progress import Progress
from laser.training import OptimConfig

__all__ = ["KINDS", "CAVEATS", "caveat", "train", "build", "sample"]

log = logging.getLogger(__name__)

KINDS = ("gan", "flow")

# (generator kind, refiner kind) -> what the pair cannot do (Table 2 and Sec. 3).
CAVEATS = {
    ("flow", "gan"): (
        "the paper's pair. The GAN refiner may split or hole the latent space "
        "(its auxiliary dimensions allow it), so g(phi(y)) can reach a topology g "
        "alone cannot; its precision is that of adversarial training, with no "
        "likelihood to monitor."
    ),
    ("flow", "flow"): (
        "a flow refiner is a diffeomorphism of R^D: g(phi(y)) keeps the topology of "
        "N(0, I) (one connected component, no holes), so the modes g bridges stay "
        "bridged, only thinner. It trains by weighted maximum likelihood, stably, "
        "with a loss to monitor."
    ),
    ("gan", "gan"): (
        "both networks adversarial: the refined generator has no tractable density, "
        "and the weights w(z) = w(g(z)) carry the generator's own mode coverage "
        "(modes g misses get no weight to restore them)."
    ),
    ("gan", "flow"): (
        "the flow refiner keeps the topology of the GAN's latent prior; any change "
        "of topology must come from the GAN generator itself, and modes g misses "
        "get no weight to restore them."
    ),
    # a black box (laser.blackbox): not in Table 2, Sec. 3's stochastic generator
    ("blackbox", "gan"): (
        "a black box: refinement can only reweight its latent points; what its "
        "hidden randomness adds (smearing, random choices) stays in every sample. "
        "Its weights are a function of z only if they come from OmniFold or the "
        "box is deterministic."
    ),
    ("blackbox", "flow"): (
        "a black box: refinement can only reweight its latent points, and the "
        "flow refiner keeps the latent topology; what the box's hidden randomness "
        "adds stays in every sample. Its weights are a function of z only if "
        "they come from OmniFold or the box is deterministic."
    ),
}


def caveat(generator: str, refiner: str) -> str:
    """The caveat of the (generator kind, refiner kind) pair.

    Raises:
        ValueError: for a kind that is not in Table 2.
    """
    if (generator, refiner) not in CAVEATS:
        raise ValueError(
            f"no generator-refiner pair ({generator!r}, {refiner!r}); generator "
            f"kinds: ['flow', 'gan', 'blackbox'], refiner kinds: {list(KINDS)}"
        )
    return CAVEATS[generator, refiner]


def train(
    z: np.ndarray,
    w: np.ndarray,
    arch: gan.GANConfig | flows.FlowConfig,
    optim: OptimConfig,
    seed: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    generator: str = "flow",
    n_train: int | None = None,
    progress: Progress | None = None,
) -> nn.Module:
    """Train the refiner on weighted latent points: a GAN with the weighted loss
    for a :class:`~laser.models.gan.GANConfig`, a RealNVP by weighted maximum
    likelihood for a :class:`~laser.models.flows.FlowConfig`.

    The caveat of the (generator, refiner) pair is logged first: every pair of
    Table 2 runs, none is refused.

    Args:
        z: latent points of the generator (N, D).
        w: their weights w(g(z)) (N,).
        arch: the refiner's architecture; its type is the kind.
        optim: the optimiser's settings.
        seed: seeds initialisation and shuffling.
        generator: the kind of g the points come from (`flow` or `gan`).
        n_train: train on the first n_train points only (None: all).
        progress: the job's saved progress, to continue an interrupted training.

    Returns:
        The trained refiner: a :class:`laser.models.gan.Generator` or a
        :class:`laser.models.flows.RealNVP`.

    Raises:
        TypeError: for another architecture.
    """
    z, w = z[:n_train], w[:n_train]
    if isinstance(arch, gan.GANConfig):
        log.info("generator %s, refiner gan: %s", generator, caveat(generator, "gan"))
        return gan.train(z, w, arch, optim, seed, dtype, device, progress=progress)
    if isinstance(arch, flows.FlowConfig):
        log.info("generator %s, refiner flow: %s", generator, caveat(generator, "flow"))
        model = flows.train(z, arch, optim, seed, w, dtype, device, progress)
        model.eval()
        return model
    raise TypeError(f"not a refiner architecture: {type(arch).__name__}")


def build(hparams: dict[str, Any]) -> nn.Module:
    """Rebuild a refiner of either kind from its checkpoint's hparams."""
    kind = hparams.get("kind")
    if kind in ("gan", "gan_refiner"):
        return gan.build(hparams)
    if kind == "realnvp":
        return flows.build(hparams)
    raise ValueError(f"not a refiner checkpoint (kind {kind!r}): {hparams}")


def kind_of(model: nn.Module) -> str:
    """`gan` or `flow`: the kind of a refiner."""
    if isinstance(model, gan.Generator):
        return "gan"
    if isinstance(model, flows.RealNVP):
        return "flow"
    raise TypeError(f"not a refiner: {type(model).__name__}")


def sample(
    model: nn.Module, n: int, seed: int, batch_size: int = 100_000
) -> np.ndarray:
    """Refined latent points z = phi(y) (n, D) float32, y ~ N(0, I) of the
    refiner's auxiliary latent space."""
    if kind_of(model) == "gan":
        return gan.sample(model, n, seed, batch_size)
    _, z = flows.sample(model, n, seed, batch_size)
    return z
