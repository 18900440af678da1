"""The shipped black boxes (:mod:`laser.blackbox.base`).

- :class:`GaussianSmear` (analytic): x = a z + b + sigma eps. For z ~ N(0, I)
  its marginal is N(b, (a^2 + sigma^2) I), so latent weights that reproduce a
  shifted target are known in closed form (the tests' known answer).
- :class:`SmearedGenerator` (the study's): a trained generator (the RealNVP
  baseline) followed by Gaussian smearing whose width is a random discrete
  choice, and optionally rounding to a grid. Its wide component fills the gaps
  between the target's modes, so its output distribution has the wrong
  topology (connected where the target is not) whatever the latent weights:
  a refined latent space cannot remove the bridge, only thin it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from laser.models.flows import transform

__all__ = ["GaussianSmear", "SmearedGenerator"]


@dataclass(frozen=True)
class GaussianSmear:
    """x = a z + shift + sigma eps, eps ~ N(0, I): a linear map with smearing.

    Latent and data dimensions are equal (``latent_dim``). For z ~ N(mu, I)
    the marginal of x is N(a mu + shift, (a^2 + sigma^2) I), so reweighting z
    from N(0, I) to N(mu, I), nu*(z) = N(z; mu, I) / N(z; 0, I), reproduces
    that target exactly: the known answer of the OmniFold tests.

    Examples:
        >>> from laser.blackbox.base import generate
        >>> bb = GaussianSmear(a=2.0, sigma=0.0, latent_dim=1)
        >>> generate(bb, np.ones((2, 1)), seed=0)[:, 0].tolist()
        [2.0, 2.0]
    """

    a: float = 1.0  # scale of z
    sigma: float = 0.1  # width of the smearing (0: deterministic)
    shift: float = 0.0  # offset added to every coordinate
    latent_dim: int = 2  # L = D

    def __post_init__(self) -> None:
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {self.latent_dim}")
        if not self.sigma >= 0:
            raise ValueError(f"sigma must be >= 0, got {self.sigma}")
        if self.a == 0:
            raise ValueError("a must be non-zero (x would not depend on z)")

    @property
    def stochastic(self) -> bool:
        """True where sigma > 0."""
        return self.sigma > 0

    @property
    def options(self) -> dict[str, Any]:
        """The plain options that rebuild this black box."""
        return asdict(self)

    def sample(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """x (N, L) of z (N, L)."""
        eps = rng.standard_normal(z.shape)  # (N, L)
        return self.a * z + self.shift + self.sigma * eps

    def log_prob(self, x: np.ndarray, mu: np.ndarray | float = 0.0) -> np.ndarray:
        """log density (N,) of x (N, L) when z ~ N(mu, I): N(a mu + shift, a^2 +
        sigma^2)."""
        var = self.a**2 + self.sigma**2
        d = x - (self.a * np.asarray(mu) + self.shift)  # (N, L)
        return -0.5 * ((d**2).sum(1) / var + x.shape[1] * np.log(2 * np.pi * var))


class SmearedGenerator:
    """A trained generator followed by smearing of a randomly chosen width.

    x = round_q(g(z) + s_k eps), k ~ Categorical(probs), eps ~ N(0, I): the
    hidden randomness is the discrete choice k and eps; ``resolution`` q > 0
    rounds x to a grid of step q (a non-differentiable detector granularity).
    With ``widths = (0, 1.5)`` a share of the points stays on g(z) and the rest
    spreads over the gaps between the target's modes (Sec. 3: a stochastic g
    whose weights are not a function of z).

    Args:
        generator: any model with ``generate(z)`` (tensor (N, L) -> (N, D)) and
            parameters, e.g. the RealNVP baseline of :mod:`laser.models.flows`; its
            ``latent_dim`` (or ``dim``) is L.
        widths: smearing widths s_k, one per choice, each >= 0.
        probs: probabilities of the choices (sum 1); default equal.
        resolution: grid step q of the rounding; 0 leaves x unrounded.
        batch_size: latent points per call of ``generate``.
    """

    stochastic = True

    def __init__(
        self,
        generator: nn.Module,
        widths: Sequence[float] = (0.0, 1.5),
        probs: Sequence[float] | None = None,
        resolution: float = 0.0,
        batch_size: int = 100_000,
    ):
        widths = [float(s) for s in widths]
        if not widths or min(widths) < 0 or not np.all(np.isfinite(widths)):
            raise ValueError(f"widths must be a non-empty list of >= 0, got {widths}")
        probs = [1.0 / len(widths)] * len(widths) if probs is None else list(probs)
        if len(probs) != len(widths):
            raise ValueError(f"{len(widths)} widths but {len(probs)} probs")
        if min(probs) < 0 or abs(sum(probs) - 1) > 1e-6:
            raise ValueError(f"probs must be >= 0 and sum to 1, got {probs}")
        if not resolution >= 0:
            raise ValueError(f"resolution must be >= 0, got {resolution}")
        if max(widths) == 0:
            raise ValueError("at least one width must be > 0 (else g is deterministic)")
        self.generator = generator
        self.widths = np.asarray(widths)  # (K,)
        self.probs = np.asarray(probs) / np.sum(probs)  # (K,)
        self.resolution = float(resolution)
        self.batch_size = batch_size
        dim = getattr(generator, "latent_dim", getattr(generator, "dim", None))
        if dim is None or not hasattr(generator, "generate"):
            raise ValueError(
                f"{type(generator).__name__} is not a generator (needs generate(z) "
                "and latent_dim or dim)"
            )
        self.latent_dim = int(dim)

    @property
    def options(self) -> dict[str, Any]:
        """The plain options that rebuild this black box (with the generator)."""
        return {
            "widths": self.widths.tolist(),
            "probs": self.probs.tolist(),
            "resolution": self.resolution,
        }

    def sample(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """x (N, D) of z (N, L), float64."""
        with torch.no_grad():
            x = transform(self.generator, z, self.batch_size).astype(np.float64)
        k = rng.choice(len(self.widths), size=len(x), p=self.probs)  # (N,)
        x = x + self.widths[k][:, None] * rng.standard_normal(x.shape)  # (N, D)
        if self.resolution > 0:
            x = np.round(x / self.resolution) * self.resolution
        return x
