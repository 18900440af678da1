"""The paper's toy datasets (arXiv:2106.00792, Sec. 4): samplers, exact log
densities and true Betti numbers."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from laser.seeding import split

__all__ = [
    "Toy",
    "TOYS",
    "sample",
    "log_prob",
    "gaussians",
    "double_donut",
    "rings",
    "gaussians_log_prob",
    "double_donut_log_prob",
    "rings_log_prob",
]

# The toys' parameters, shared by the samplers and the exact densities.
GAUSSIAN_CENTRES = [(-4.0, -4.0), (-4.0, 4.0), (4.0, -4.0), (4.0, 4.0)]
DONUT_CENTRES = (-4.0, 4.0)  # x of the double donut's rings, on y = 0
RING_CENTRES = (-12.0, 0.0, 12.0)  # x of the three rings, on y = 0
RING_RADIUS = 4.0  # mean radius of every ring
RING_WIDTH = 1.0  # standard deviation of the radius
_LOG_2PI = math.log(2.0 * math.pi)


def _mixture(
    rng: np.random.Generator, n: int, parts: list[Callable[[int], np.ndarray]]
) -> np.ndarray:
    """Draw `n` points from an equal-weight mixture of `parts`, shuffled."""
    counts = rng.multinomial(n, np.full(len(parts), 1.0 / len(parts)))
    x = np.concatenate([part(k) for part, k in zip(parts, counts, strict=True)])
    return x[rng.permutation(n)]  # (n, 2)


def _ring(
    rng: np.random.Generator, centre: tuple[float, float], radius: float, width: float
) -> Callable[[int], np.ndarray]:
    def draw(n: int) -> np.ndarray:
        r = rng.normal(radius, width, n)  # (n,)
        phi = rng.uniform(0.0, 2.0 * np.pi, n)  # (n,)
        return np.stack([centre[0] + r * np.cos(phi), centre[1] + r * np.sin(phi)], 1)

    return draw


def gaussians(n: int, rng: np.random.Generator) -> np.ndarray:
    """Four unit-covariance Gaussians centred at (+-4, +-4) (Fig. 3)."""
    parts = [
        (lambda k, c=c: rng.normal(0.0, 1.0, (k, 2)) + np.asarray(c))
        for c in GAUSSIAN_CENTRES
    ]
    return _mixture(rng, n, parts)


def double_donut(n: int, rng: np.random.Generator) -> np.ndarray:
    """Two rings of radius ~ N(4, 1), uniform angle, centred at (+-4, 0) (Fig. 4)."""
    rings_ = [_ring(rng, (c, 0.0), RING_RADIUS, RING_WIDTH) for c in DONUT_CENTRES]
    return _mixture(rng, n, rings_)


def rings(n: int, rng: np.random.Generator) -> np.ndarray:
    """Three rings of radius ~ N(4, 1) centred at x = -12, 0, 12 on y = 0 (Fig. 5)."""
    rings_ = [_ring(rng, (c, 0.0), RING_RADIUS, RING_WIDTH) for c in RING_CENTRES]
    return _mixture(rng, n, rings_)


def _check_points(x: Tensor) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(
            f"the toys are 2D: x must have shape (N, 2), got {tuple(x.shape)}"
        )
    return x


def _ring_log_prob(x: Tensor, centre: float, radius: float, width: float) -> Tensor:
    """log density (N,) of one ring of `_ring` about (centre, 0) at x (N, 2).

    r ~ N(radius, width^2) may be negative (the point then lies at distance |r|
    on the opposite side), so the distance rho = |r| from the centre has density
    N(rho) + N(-rho) = N(rho) (1 + exp(-2 radius rho / width^2)) and, the angle
    being uniform, p(x) = [N(rho) + N(-rho)] / (2 pi rho). It diverges like
    1/rho at the centre (an integrable spike of mass ~ 2 N(0) rho, 1e-4 within
    rho < 1 for the paper's rings); rho is floored at the dtype's sqrt(tiny) so
    that value and gradient stay finite there.
    """
    d = x - x.new_tensor([centre, 0.0])  # (N, 2)
    rho = torch.sqrt((d**2).sum(-1).clamp_min(torch.finfo(x.dtype).tiny))  # (N,)
    log_normal = -0.5 * ((rho - radius) / width) ** 2 - math.log(width) - 0.5 * _LOG_2PI
    log_radial = log_normal + F.softplus(-2.0 * radius * rho / width**2)
    return log_radial - _LOG_2PI - torch.log(rho)


def _rings_log_prob(x: Tensor, centres: tuple[float, ...]) -> Tensor:
    """Equal-weight mixture of rings about (c, 0) for c in `centres`: (N,)."""
    parts = [_ring_log_prob(x, c, RING_RADIUS, RING_WIDTH) for c in centres]
    return torch.logsumexp(torch.stack(parts, -1), -1) - math.log(len(centres))


def gaussians_log_prob(x: Tensor) -> Tensor:
    """Exact log density of :func:`gaussians` at x (N, 2), shape (N,).

    p(x) = 1/4 sum_k N(x; c_k, I), c_k = (+-4, +-4); differentiable by autograd.
    """
    c = _check_points(x).new_tensor(GAUSSIAN_CENTRES)  # (4, 2)
    sq = ((x[:, None, :] - c) ** 2).sum(-1)  # (N, 4)
    return torch.logsumexp(-0.5 * sq, -1) - _LOG_2PI - math.log(len(c))


def double_donut_log_prob(x: Tensor) -> Tensor:
    """Exact log density of :func:`double_donut` at x (N, 2), shape (N,).

    p(x) = 1/2 sum_k [N(rho_k; 4, 1) + N(-rho_k; 4, 1)] / (2 pi rho_k), rho_k the
    distance from (+-4, 0); differentiable by autograd.
    """
    return _rings_log_prob(_check_points(x), DONUT_CENTRES)


def rings_log_prob(x: Tensor) -> Tensor:
    """Exact log density of :func:`rings` at x (N, 2), shape (N,).

    An equal-weight mixture of three rings like those of
    :func:`double_donut_log_prob`, centred at (-12, 0), (0, 0), (12, 0).
    """
    return _rings_log_prob(_check_points(x), RING_CENTRES)


@dataclass(frozen=True)
class Toy:
    """A toy distribution of the paper.

    Attributes:
        name: the dataset name used in config, paths and tables.
        betti: the true Betti numbers (b0, b1) of its support.
        draw: `draw(n, rng) -> (n, 2)` samples.
        log_prob: `log_prob(x) -> (N,)`, the exact log density at x (N, 2), a
            torch function (differentiable, in x's dtype and device).
    """

    name: str
    betti: tuple[int, int]
    draw: Callable[[int, np.random.Generator], np.ndarray]
    log_prob: Callable[[Tensor], Tensor]


TOYS: dict[str, Toy] = {
    "gaussians": Toy("gaussians", (4, 0), gaussians, gaussians_log_prob),
    "double_donut": Toy("double_donut", (1, 2), double_donut, double_donut_log_prob),
    "rings": Toy("rings", (3, 3), rings, rings_log_prob),
}


def sample(name: str, n: int, seed: int) -> np.ndarray:
    """Draw `n` points of toy `name` (or of a replica's toy, ``rings.seed2``) with
    a seeded PCG64 generator, as float32.

    Raises:
        ValueError: for an unknown name or n < 1.
    """
    name = split(name)[0]
    if name not in TOYS:
        raise ValueError(f"unknown dataset '{name}'; known: {sorted(TOYS)}")
    if n < 1:
        raise ValueError(f"sample size must be >= 1, got {n}")
    rng = np.random.default_rng(int(seed))
    return TOYS[name].draw(int(n), rng).astype(np.float32)


def log_prob(name: str, x: Tensor) -> Tensor:
    """Exact log density log p_data(x) of toy `name` at points x (N, 2).

    A torch function, so that HMC can differentiate the exact weight
    p_data(x) / p_g(x) of the oracle (:mod:`laser.latent.oracle`).

    Args:
        name: one of `TOYS`.
        x: points (N, 2), any float dtype and device.

    Returns:
        (N,) log densities in x's dtype; finite everywhere.

    Raises:
        ValueError: for an unknown name or x not of shape (N, 2).

    Examples:
        >>> x = torch.tensor([[4.0, 4.0]], dtype=torch.float64)
        >>> round(float(log_prob("gaussians", x).exp()), 4)  # 1 / (4 * 2 pi)
        0.0398
    """
    name = split(name)[0]  # a replica's toy
    if name not in TOYS:
        raise ValueError(f"unknown dataset '{name}'; known: {sorted(TOYS)}")
    return TOYS[name].log_prob(x)
