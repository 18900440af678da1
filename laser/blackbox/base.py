"""Black-box generators: z -> x with hidden randomness, no gradients (Sec. 3).

A black box maps latent points z (N, L) and a random generator for its own
hidden randomness to samples x (N, D). It need not be differentiable, nor a
function of z alone: when it draws hidden random numbers that are marginalised
over (a physics simulator, smearing, a random discrete choice) the same z gives
different x, so the classifier's weights w(x) are not a function of z and the
direct pull-back w(z) = w(g(z)) is undefined. LaSeR then pulls the weights back
with OmniFold (:mod:`laser.blackbox.omnifold`; arXiv:2106.00792, Sec. 3;
Andreassen et al., PRL 124 (2020) 182001). HMC needs gradients of g and does not
apply; the refiner, trained on weighted latent points, does.

This module is the protocol and what every box gets: batched, seeded generation
and the check of its declared stochasticity. The shipped boxes are in
:mod:`laser.blackbox.boxes`, the loading from config in :mod:`laser.blackbox.spec`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from laser.seeding import derive_seed, torch_generator

__all__ = [
    "BlackBox",
    "FunctionBlackBox",
    "generate",
    "sample",
    "is_stochastic",
    "check_stochastic",
]

log = logging.getLogger(__name__)


@runtime_checkable
class BlackBox(Protocol):
    """A generator x = g(z, hidden randomness), with no gradients required.

    Attributes:
        latent_dim: L, the columns of z; its prior is N(0, I_L).
        stochastic: whether the same z can give different x (hidden random
            numbers); a deterministic black box may use the direct pull-back.
    """

    latent_dim: int
    stochastic: bool

    def sample(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Samples x (N, D) of latent points z (N, L); hidden randomness from rng."""
        ...


@dataclass(frozen=True)
class FunctionBlackBox:
    """A plain function ``fn(z, rng) -> x`` as a :class:`BlackBox`.

    Examples:
        >>> bb = FunctionBlackBox(lambda z, rng: z + rng.normal(size=z.shape), 2)
        >>> generate(bb, np.zeros((3, 2)), seed=0).shape
        (3, 2)
    """

    fn: Callable[[np.ndarray, np.random.Generator], np.ndarray]  # z, rng -> x
    latent_dim: int  # L, the columns of z
    stochastic: bool = True  # whether fn draws hidden random numbers

    def sample(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """x = fn(z, rng)."""
        return np.asarray(self.fn(z, rng))


def generate(
    box: BlackBox, z: np.ndarray, seed: int, batch_size: int = 1_000_000
) -> np.ndarray:
    """x (N, D) float32 of latent points z (N, L), hidden randomness seeded.

    Batches share one numpy generator (``numpy.random.default_rng(seed)``), so
    the output depends on the seed and the batch size only.

    Raises:
        ValueError: when z has not ``latent_dim`` columns, or the black box
            returns the wrong number of rows or a non-finite value (its row named).
    """
    z = np.asarray(z)
    if z.ndim != 2 or z.shape[1] != box.latent_dim:
        raise ValueError(
            f"latent points have shape {z.shape}, the black box takes "
            f"(N, {box.latent_dim})"
        )
    rng = np.random.default_rng(int(seed))
    parts = []
    for start in range(0, max(len(z), 1), batch_size):
        zb = z[start : start + batch_size]
        xb = np.asarray(box.sample(zb, rng))
        if xb.ndim != 2 or len(xb) != len(zb):
            raise ValueError(
                f"black box returned shape {xb.shape} for {len(zb)} latent points"
            )
        bad = np.flatnonzero(~np.isfinite(xb).all(1))
        if len(bad):
            raise ValueError(
                f"black box returned a non-finite sample at row {start + bad[0]}: "
                f"{xb[bad[0]]}"
            )
        parts.append(xb)
    return np.concatenate(parts).astype(np.float32)


def sample(box: BlackBox, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw z ~ N(0, I_L) and x = g(z, hidden randomness): (z, x) float32, the
    latent draw and the hidden randomness each seeded from ``seed``."""
    z = torch.randn(
        n, box.latent_dim, generator=torch_generator(seed), dtype=torch.float64
    )
    z = z.float().numpy()  # (n, L)
    return z, generate(box, z, derive_seed(seed, "hidden"))


def is_stochastic(box: BlackBox, seed: int, n: int = 1000) -> bool:
    """Whether the box gives different x for the same z: n prior points, each
    generated twice with different hidden seeds."""
    z = sample(box, n, seed)[0]
    a = generate(box, z, derive_seed(seed, "first"))
    b = generate(box, z, derive_seed(seed, "second"))
    return not np.array_equal(a, b)


def check_stochastic(box: BlackBox, declared: bool, seed: int) -> bool:
    """The box's observed stochasticity (:func:`is_stochastic`), against the
    config's `blackbox.stochastic`.

    Raises:
        ValueError: when a box declared deterministic gives different x for the
            same z (then w(g(z)) of one draw is not a function of z, and the
            direct pull-back the workflow chose for it is not valid).
    """
    observed = is_stochastic(box, seed)
    if observed and not declared:
        raise ValueError(
            "'blackbox.stochastic' is false, but the black box gives different x "
            "for the same z: set it to true (its weights then need the OmniFold "
            "pull-back, 'blackbox.pullback: omnifold' or auto)"
        )
    if declared and not observed:
        log.warning(
            "'blackbox.stochastic' is true, but the black box gave the same x for "
            "the same z in a check of 1000 points: it looks deterministic, so the "
            "direct pull-back would be exact for it"
        )
    return observed
