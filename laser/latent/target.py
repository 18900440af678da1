"""The latent target of LaSeR: the classifier weights pulled back to the latent
space, q(z) = p(z) w(g(z)) / Z0 (arXiv:2106.00792, Sec. 3, Eq. 3), and what every
latent sampler shares: where chains start, and how draws are stored.

The generator g is any model of :mod:`laser.models.generators`: a RealNVP, a GAN
generator or a refined generator, with ``generate(z)`` and ``latent_dim``; its
latent prior is N(0, I_L). The weight is anything with ``log_weight(x)``: the
classifier, or the exact weight of :mod:`laser.latent.oracle`.

Every sampler of q(z) has one call shape, ``sample_<name>(config, target, n, seed)``
returning a :class:`LatentSample` (z, x, diagnostics table, result):
:func:`laser.latent.hmc.sample_hmc`, :func:`laser.latent.oracle.sample_oracle`,
:func:`laser.latent.rejection.sample_rejection` and
:func:`laser.latent.langevin.sample_langevin`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from laser.latent.integrator import LogProb
from laser.models.classifier import Classifier, logits
from laser.models.flows import transform

__all__ = [
    "INITS",
    "LatentSample",
    "Target",
    "latent_weights",
    "latent_log_prob",
    "latent_log_weight",
    "resampled_init",
    "systematic_init",
    "systematic_indices",
    "morton_order",
    "chain_start",
]

#: Where chains start: prior draws, or prior draws resampled by their weights
#: (multinomially, or systematically from a large pool in space-filling order).
INITS = ("prior", "resample", "systematic")


class LatentSample(NamedTuple):
    """What every latent sampler returns.

    Attributes:
        z: latent draws (N, L) float32.
        x: their images g(z) (N, D) float32, of exactly the stored z.
        table: the sampler's diagnostics table.
        result: the sampler's own result (acceptance, bound, step size, times).
    """

    z: np.ndarray  # (N, L)
    x: np.ndarray  # (N, D)
    table: pd.DataFrame
    result: Any


@dataclass(frozen=True, eq=False)
class Target:
    """The latent target q(z) = N(z; 0, I_L) w(g(z)) / Z0 (Eq. 3).

    Attributes:
        generator: g, with ``generate(z)`` and ``latent_dim``.
        weight: anything with ``log_weight(x)`` (a classifier, an exact weight).
        exact_log_prob: an equal but cheaper log q(z) where one is known (the
            oracle's one-pass form), else None: built from g and the weight.

    Examples:
        >>> import torch
        >>> from laser.models import flows
        >>> g = flows.RealNVP(2, flows.FlowConfig(n_blocks=1, hidden_units=4))
        >>> class Unit(torch.nn.Module):
        ...     def log_weight(self, x):
        ...         return torch.zeros(len(x))
        >>> q = Target(g, Unit())
        >>> q.dim
        2
        >>> q.log_prob()(torch.zeros(3, 2)).shape
        torch.Size([3])
    """

    generator: nn.Module
    weight: nn.Module
    exact_log_prob: LogProb | None = None

    @property
    def dim(self) -> int:
        """Dimension L of the latent space."""
        return self.generator.latent_dim

    @property
    def dtype(self) -> torch.dtype:
        """dtype of g's parameters, in which the samplers draw."""
        return next(self.generator.parameters()).dtype

    @property
    def device(self) -> torch.device:
        """Device of g's parameters, on which the samplers draw."""
        return next(self.generator.parameters()).device

    def log_prob(self) -> LogProb:
        """log q(z) up to a constant, differentiable in z (HMC, Langevin)."""
        if self.exact_log_prob is not None:
            return self.exact_log_prob
        return latent_log_prob(self.generator, self.weight)

    def log_weight(self, images: bool = False) -> Any:
        """log w(g(z)) without gradients (rejection); with ``images``, z ->
        (log w(g(z)), g(z)) (:func:`latent_log_weight`)."""
        return latent_log_weight(self.generator, self.weight, images)

    def start(self, n_chains: int, generator: torch.Generator, init: str) -> Tensor:
        """Start points (n_chains, L) of chains: :func:`chain_start`."""
        return chain_start(self.generator, self.weight, n_chains, generator, init)

    def finish(
        self, z: Tensor, x: Tensor | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """z as stored (float32) and x = g of that z, each (N, .) float32: the
        images ``x`` a sampler computed of float32 z in its own batches (equal to
        a pass of g to float32 rounding), else a pass of g."""
        z32 = z.detach().cpu().numpy().astype(np.float32)
        if x is not None and z.dtype == torch.float32 and len(x) == len(z):
            return z32, x.detach().cpu().numpy().astype(np.float32)
        return z32, transform(self.generator, z32)


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


def latent_log_prob(flow: nn.Module, classifier: Classifier) -> LogProb:
    """log q(z) up to a constant, q(z) = p(z) w(g(z)) / Z0 (Eq. 3), for HMC.

    The potential U(z) = |z|^2/2 - log w(g(z)) is its negative; gradients flow
    through g and the classifier by autograd. A weight with a latent form
    ``log_weight_latent(g)`` (a classifier that sees log p_g, where g is its
    flow) gives log w(g(z)) in one pass of g, without inverting g(z) again.
    """

    flow.requires_grad_(False)  # gradients w.r.t. z only
    classifier.requires_grad_(False)
    latent = _latent_form(flow, classifier)

    def log_prob(z: torch.Tensor) -> torch.Tensor:
        if latent is not None:
            return -0.5 * (z**2).sum(-1) + latent(z)
        return -0.5 * (z**2).sum(-1) + classifier.log_weight(flow.generate(z))

    return log_prob


def _latent_form(flow: nn.Module, weight: Any, images: bool = False) -> Any:
    """The weight's one-pass z -> log w(g(z)) for the generator `flow`
    (``log_weight_latent``; with ``images`` z -> (log w, g(z))), or None where it
    has none for this g."""
    form = getattr(weight, "log_weight_latent", None)
    if form is None:
        return None
    return form(flow, images=True) if images else form(flow)


def _prior(flow: nn.Module, n: int, generator: torch.Generator) -> torch.Tensor:
    """n draws z ~ N(0, I_L) of g's latent prior, in its dtype and on its device."""
    param = next(flow.parameters())
    return torch.randn(
        n, flow.latent_dim, generator=generator, device=param.device, dtype=param.dtype
    )


def _weighted_pool(
    flow: nn.Module, classifier: Classifier, pool: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """`pool` prior points z (pool, L) and their weights w(g(z)) / max (pool,)
    float64."""
    z = _prior(flow, pool, generator)  # (pool, L)
    log_weight = latent_log_weight(flow, classifier)  # one pass of g where it can
    log_w = torch.cat([log_weight(b) for b in torch.split(z, 100_000)])  # (pool,)
    return z, torch.exp(log_w.double() - log_w.max().double())


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
    z, prob = _weighted_pool(flow, classifier, pool, generator)
    idx = torch.multinomial(prob, n_chains, replacement=True, generator=generator)
    return z[idx]


def morton_order(z: np.ndarray, half_width: float = 4.0) -> np.ndarray:
    """The order (N,) of points z (N, L) along a Z-order (Morton) curve.

    Each coordinate is clipped to [-half_width, half_width] and quantised to
    b = max(1, 62 // L) bits, whose bits are interleaved into one integer key.
    The top bit of every coordinate is its sign, so every orthant is one
    contiguous run of the order, and every cell of the recursive 2^L-ary split
    of the cube is one too: points close in space are mostly close in order.

    Examples:
        >>> z = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
        >>> morton_order(z).tolist()
        [1, 3, 2, 0]
    """
    n, dim = z.shape
    bits = max(1, 62 // dim)
    top = (1 << bits) - 1
    q = np.clip((z + half_width) / (2 * half_width), 0.0, 1.0) * top
    q = np.rint(q).astype(np.uint64)  # (N, L)
    key = np.zeros(n, dtype=np.uint64)
    for b in range(bits):
        for d in range(dim):
            bit = (q[:, d] >> np.uint64(b)) & np.uint64(1)
            key |= bit << np.uint64(b * dim + (dim - 1 - d))
    return np.argsort(key, kind="stable")


def systematic_indices(
    weights: np.ndarray, n: int, generator: torch.Generator
) -> np.ndarray:
    """Systematic resampling: n indices (n,) into `weights` (M,), which need not
    be normalised, in increasing order.

    One uniform u ~ U[0, 1) places the n points (u + k) / n, k = 0 ... n-1, on
    the cumulative normalised weights; index i is picked once for every point
    in its interval. Any contiguous run of indices with a share s of the total
    weight is picked n s times to within 1 (multinomial resampling: to within
    about sqrt(n s (1 - s))) (Kitagawa 1996; Douc, Cappe, Moulines 2005).

    Raises:
        ValueError: for negative or non-finite weights, or a zero total.
    """
    w = np.asarray(weights, dtype=np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("systematic resampling needs finite weights >= 0, sum > 0")
    cdf = np.cumsum(w)
    cdf /= cdf[-1]
    u = torch.rand((), generator=generator, dtype=torch.float64).item()
    points = (u + np.arange(n)) / n  # (n,)
    return np.minimum(np.searchsorted(cdf, points, side="right"), len(w) - 1)


def systematic_init(
    flow: nn.Module,
    classifier: Classifier,
    n_chains: int,
    generator: torch.Generator,
    pool: int | None = None,
) -> torch.Tensor:
    """Starting points of q(z) by systematic resampling of a large prior pool.

    Draws ``pool`` (default 200 n_chains: 2M for 10,000 chains) points
    z ~ N(0, I) with weights w(g(z)), orders them along a Z-order curve
    (:func:`morton_order`) and picks ``n_chains`` by
    :func:`systematic_indices`. Every orthant and every cell of the curve's
    recursive split then gets its weighted share of the pool to within one
    chain, where multinomial picks (:func:`resampled_init`) scatter a mode's
    share of 10,000 chains by about 0.45 % (p = 1/4): chains that do not cross
    between modes keep their start's shares, so the start sets the shares of
    the whole sample. The picks are returned in a random order, so that the
    chain index says nothing of where a chain starts.

    Returns:
        (n_chains, L) in the flow's dtype and device.
    """
    pool = 200 * n_chains if pool is None else pool
    z, prob = _weighted_pool(flow, classifier, pool, generator)
    order = morton_order(z.detach().cpu().double().numpy())  # (pool,)
    w = prob.cpu().numpy()[order]
    picks = order[systematic_indices(w, n_chains, generator)]  # (C,)
    shuffle = torch.randperm(n_chains, generator=generator).numpy()
    return z[torch.as_tensor(picks[shuffle], device=z.device)]


def chain_start(
    flow: nn.Module,
    weight: Classifier,
    n_chains: int,
    generator: torch.Generator,
    init: str = "prior",
) -> torch.Tensor:
    """Start points (n_chains, D) of latent chains, in the flow's dtype and device:
    prior draws z ~ N(0, I) (``init="prior"``), :func:`resampled_init`
    (``init="resample"``) or :func:`systematic_init` (``init="systematic"``).

    Raises:
        ValueError: for an unknown init.
    """
    if init == "prior":
        return _prior(flow, n_chains, generator)  # (C, D)
    if init == "resample":
        return resampled_init(flow, weight, n_chains, generator)
    if init == "systematic":
        return systematic_init(flow, weight, n_chains, generator)
    raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")


def latent_log_weight(flow: nn.Module, classifier: Any, images: bool = False) -> Any:
    """log w(g(z)) of latent points (N, D) -> (N,): the pulled-back weight
    (arXiv:2106.00792, Sec. 3), without gradients; in one pass of g where the
    weight has a latent form (:func:`latent_log_prob`). With ``images``:
    z -> (log w(g(z)), g(z)), so that a sampler keeps the images of what it
    accepts instead of passing its sample through g again."""
    latent = _latent_form(flow, classifier, images)

    def log_weight(z: Tensor) -> Any:
        with torch.no_grad():
            if latent is not None:
                return latent(z)
            x = flow.generate(z)
            log_w = classifier.log_weight(x)
            return (log_w, x) if images else log_w

    return log_weight
