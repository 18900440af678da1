"""The paper's toy datasets (arXiv:2106.00792, Sec. 4) with their true Betti numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Toy", "TOYS", "sample", "gaussians", "double_donut", "rings"]


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
    centres = [(-4.0, -4.0), (-4.0, 4.0), (4.0, -4.0), (4.0, 4.0)]
    parts = [
        (lambda k, c=c: rng.normal(0.0, 1.0, (k, 2)) + np.asarray(c)) for c in centres
    ]
    return _mixture(rng, n, parts)


def double_donut(n: int, rng: np.random.Generator) -> np.ndarray:
    """Two rings of radius ~ N(4, 1), uniform angle, centred at (+-4, 0) (Fig. 4)."""
    return _mixture(rng, n, [_ring(rng, (c, 0.0), 4.0, 1.0) for c in (-4.0, 4.0)])


def rings(n: int, rng: np.random.Generator) -> np.ndarray:
    """Three rings of radius ~ N(4, 1) centred at x = -12, 0, 12 on y = 0 (Fig. 5)."""
    return _mixture(
        rng, n, [_ring(rng, (c, 0.0), 4.0, 1.0) for c in (-12.0, 0.0, 12.0)]
    )


@dataclass(frozen=True)
class Toy:
    """A toy distribution of the paper.

    Attributes:
        name: the dataset name used in config, paths and tables.
        betti: the true Betti numbers (b0, b1) of its support.
        draw: `draw(n, rng) -> (n, 2)` samples.
    """

    name: str
    betti: tuple[int, int]
    draw: Callable[[int, np.random.Generator], np.ndarray]


TOYS: dict[str, Toy] = {
    "gaussians": Toy("gaussians", (4, 0), gaussians),
    "double_donut": Toy("double_donut", (1, 2), double_donut),
    "rings": Toy("rings", (3, 3), rings),
}


def sample(name: str, n: int, seed: int) -> np.ndarray:
    """Draw `n` points of toy `name` with a seeded PCG64 generator, as float32.

    Raises:
        ValueError: for an unknown name or n < 1.
    """
    if name not in TOYS:
        raise ValueError(f"unknown dataset '{name}'; known: {sorted(TOYS)}")
    if n < 1:
        raise ValueError(f"sample size must be >= 1, got {n}")
    rng = np.random.default_rng(int(seed))
    return TOYS[name].draw(int(n), rng).astype(np.float32)
