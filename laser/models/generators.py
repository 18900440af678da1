"""The generator g: z -> x of either kind of Table 2 (arXiv:2106.00792), and the
refined generators g(phi_1(...phi_k(y))) of repeated refinement.

`flow` (the paper's baseline): a RealNVP of :mod:`laser.models.flows`, trained by
maximum likelihood; its density p_g is exact. `gan`: the MLP generator of
:mod:`laser.models.gan` trained on the data with the standard (unit-weight) GAN
loss; it has no tractable density. Both map latent points z ~ N(0, I_L) to data through
``generate(z)`` and name L as ``latent_dim``, which is all that the pull-back
w(z) = w(g(z)), HMC, the other latent samplers and the refiner need: for
either kind the pull-back is direct, and the latent prior is N(0, I_L).

A refined generator is again a generator (:class:`Refined`), so refinement can be
repeated on it (``refine.iterations``): round k trains a classifier on data
against g_{k-1}, pulls its weights back to the latent space of g_{k-1} (the
input y of the last refiner) and trains the refiner phi_k there; g_k =
g_{k-1}(phi_k(y)).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from laser.data.transforms import FeatureSpec
from laser.models import external, flows, gan
from laser.progress import Progress
from laser.seeding import torch_generator
from laser.training import OptimConfig

__all__ = [
    "KINDS",
    "train",
    "build",
    "kind_of",
    "has_density",
    "sample",
    "Refined",
]

log = logging.getLogger(__name__)

KINDS = ("flow", "gan")


def train(
    x: np.ndarray,
    arch: flows.FlowConfig | gan.GANConfig,
    optim: OptimConfig,
    seed: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
    weights: np.ndarray | None = None,
    transforms: list[FeatureSpec] | None = None,
) -> nn.Module:
    """Train the baseline generator on data x (N, D): a RealNVP by maximum
    likelihood for a :class:`~laser.models.flows.FlowConfig`, a GAN with the
    standard loss for a :class:`~laser.models.gan.GANConfig`, each weighted by
    the events' `weights` where given.

    Args:
        x: training points (N, D).
        arch: the generator's architecture; its type is the kind.
        optim: the optimiser's settings.
        seed: seeds initialisation and shuffling.
        progress: the job's saved progress, to continue an interrupted training.
        weights: per-event weights of the data (N,), or None.
        transforms: the features' transforms (log, logit; a flow only).

    Returns:
        A :class:`laser.models.flows.RealNVP` or a :class:`laser.models.gan.Generator`.

    Raises:
        TypeError: for another architecture.
        ValueError: for transforms other than ``none`` on a GAN.
    """
    if isinstance(arch, flows.FlowConfig):
        return flows.train(
            x, arch, optim, seed, weights, dtype, device, progress, transforms
        )
    if isinstance(arch, gan.GANConfig):
        if transforms and any(t.kind in ("log", "logit") for t in transforms):
            raise ValueError(
                "log and logit transforms need a flow baseline (baseline.kind: flow)"
            )
        return gan.train(
            x, weights, arch, optim, seed, dtype, device, "baseline", progress
        )
    raise TypeError(f"not a generator architecture: {type(arch).__name__}")


def build(hparams: dict[str, Any]) -> nn.Module:
    """Rebuild a baseline generator of either kind from its checkpoint's hparams."""
    kind = hparams.get("kind")
    if kind == "realnvp":
        return flows.build(hparams)
    if kind in ("gan", "gan_refiner"):
        return gan.build(hparams)
    if kind == "external":
        return external.build(hparams)
    raise ValueError(f"not a generator checkpoint (kind {kind!r}): {hparams}")


def kind_of(model: nn.Module) -> str:
    """`flow` or `gan`: a RealNVP, or a generator without a tractable density (a
    GAN, or any refined generator with a GAN among its networks)."""
    if isinstance(model, flows.RealNVP):
        return "flow"
    if isinstance(model, gan.Generator | external.External):
        return "gan"  # no tractable density
    if isinstance(model, Refined):
        kinds = {kind_of(m) for m in (model.baseline, *model.refiners)}
        return "flow" if kinds == {"flow"} else "gan"
    raise TypeError(f"not a generator: {type(model).__name__}")


def has_density(model: nn.Module) -> bool:
    """Whether p_g is exact (:meth:`laser.models.flows.RealNVP.log_prob`): the oracle
    and the exact-weight diagnostics need it."""
    return isinstance(model, flows.RealNVP) and model.dim > 1


def sample(
    model: nn.Module, n: int, seed: int, batch_size: int = 100_000
) -> tuple[np.ndarray, np.ndarray]:
    """Draw z ~ N(0, I_L) and x = g(z): returns (z, x), (n, L) and (n, D) float32.

    For a RealNVP the same draws as :func:`laser.models.flows.sample`."""
    z = torch.randn(
        n, model.latent_dim, generator=torch_generator(seed), dtype=torch.float64
    ).float()  # stored as float32: x is g of exactly the stored z
    return z.numpy(), flows.transform(model, z, batch_size)


class Refined(nn.Module):
    """The refined generator g(phi_1(phi_2(...phi_k(y)))), y ~ N(0, I_L).

    Args:
        baseline: g, a RealNVP or a GAN generator.
        refiners: phi_1 ... phi_k in the order they were trained (a GAN
            generator or a RealNVP each, :mod:`laser.models.refiners`): phi_1
            maps into the latent space of g, phi_j into the input space of
            phi_{j-1}. None (k = 0) is g itself, with the draws of :func:`sample`.
    """

    def __init__(self, baseline: nn.Module, refiners: Sequence[nn.Module]):
        super().__init__()
        self.baseline = baseline
        self.refiners = nn.ModuleList(refiners)
        expected = baseline.latent_dim
        for j, phi in enumerate(self.refiners, 1):
            if phi.dim != expected:
                raise ValueError(
                    f"refiner {j} maps to {phi.dim} dimensions, but the generator "
                    f"before it has a latent space of {expected}"
                )
            expected = phi.latent_dim

    @property
    def latent_dim(self) -> int:
        """Dimension of y, the input of the last refiner (g's own without one)."""
        return (
            self.refiners[-1].latent_dim if self.refiners else self.baseline.latent_dim
        )

    def refine(self, y: torch.Tensor) -> torch.Tensor:
        """z = phi_1(...phi_k(y)): latent points of the baseline (N, L_g)."""
        for phi in reversed(self.refiners):
            y = phi.generate(y)
        return y

    def generate(self, y: torch.Tensor) -> torch.Tensor:
        """x = g(phi_1(...phi_k(y))) (N, D)."""
        return self.baseline.generate(self.refine(y))

    @torch.no_grad()
    def sample(
        self, n: int, seed: int, batch_size: int = 100_000
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draw y ~ N(0, I_L): returns (y, z, x) float32, with z = phi_1(...(y))
        the baseline's latent points and x = g(z)."""
        param = next(self.parameters())
        y = torch.randn(
            n, self.latent_dim, generator=torch_generator(seed), dtype=torch.float64
        )  # (n, L)
        zs, xs = [], []
        for b in torch.split(y, batch_size):
            z = self.refine(b.to(param)).float()  # stored as float32: x is g
            zs.append(z.cpu())  # of exactly the stored z
            xs.append(self.baseline.generate(z.to(param)).cpu())
        return (
            y.numpy().astype(np.float32),
            torch.cat(zs).numpy().astype(np.float32),
            torch.cat(xs).numpy().astype(np.float32),
        )
