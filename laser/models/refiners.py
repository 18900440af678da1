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
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from laser.models import flows, gan
from laser.progress import Progress
from laser.seeding import torch_generator
from laser.training import OptimConfig, fit

__all__ = [
    "KINDS",
    "CAVEATS",
    "caveat",
    "train",
    "train_flow",
    "log_variance_loss",
    "zero_couplings",
    "log_prob_of_generated",
    "build",
    "sample",
]

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
    identity: bool = False,
    reverse_kl: float = 0.0,
    log_q: Callable[[torch.Tensor], torch.Tensor] | None = None,
    log_variance: float = 0.0,
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
        identity: start a flow refiner at the identity (:func:`train_flow`; a
            GAN's ``residual`` does that for the GAN).
        reverse_kl: weight of a flow refiner's reverse-KL term
            (:func:`train_flow`); refused for a GAN.
        log_q: the latent target log q(z) of the reverse-KL term.
        log_variance: weight of a flow refiner's log-variance term
            (:func:`train_flow`); refused for a GAN.

    Returns:
        The trained refiner: a :class:`laser.models.gan.Generator` or a
        :class:`laser.models.flows.RealNVP`.

    Raises:
        TypeError: for another architecture.
    """
    z, w = z[:n_train], w[:n_train]
    for key, value in (("reverse_kl", reverse_kl), ("log_variance", log_variance)):
        if isinstance(arch, gan.GANConfig) and value:
            raise ValueError(
                f"refiner.{key} needs the flow refiner (refiner.kind flow)"
            )
    if isinstance(arch, gan.GANConfig):
        log.info("generator %s, refiner gan: %s", generator, caveat(generator, "gan"))
        return gan.train(z, w, arch, optim, seed, dtype, device, progress=progress)
    if isinstance(arch, flows.FlowConfig):
        log.info("generator %s, refiner flow: %s", generator, caveat(generator, "flow"))
        model = train_flow(
            z,
            w,
            arch,
            optim,
            seed,
            dtype,
            device,
            progress,
            identity,
            reverse_kl,
            log_q,
            log_variance,
        )
        model.eval()
        return model
    raise TypeError(f"not a refiner architecture: {type(arch).__name__}")


def zero_couplings(model: flows.RealNVP) -> None:
    """Zero the last layer of every coupling's subnet: each coupling, and so the
    whole flow, starts as the identity, and phi(y) is then the fixed affine map
    of its standardisation, the weighted points' mean and spread (the flow
    counterpart of the GAN's residual start)."""
    for block in model.inn.module_list:
        nn.init.zeros_(block.subnet[-1].weight)
        nn.init.zeros_(block.subnet[-1].bias)


def log_prob_of_generated(
    model: flows.RealNVP, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """z = phi(y) (N, L) and log r(z) (N,) of the flow refiner's own draws, from
    one pass in the generator direction: log r(z) = log N(y) - log|det dz/dy|.

    Raises:
        ValueError: for a flow with feature transforms (a refiner has none).
    """
    if any(spec.kind != "none" for spec in model.transform.specs):
        raise ValueError("a flow refiner has no feature transforms")
    if model.width != model.dim:
        raise ValueError("a flow refiner of a 1-D latent space is not supported")
    u, log_jac = model.inn(y, rev=True)  # log|det du/dy|
    z = model.shift + model.scale * u
    log_n = -0.5 * (y**2).sum(1) - 0.5 * y.shape[1] * math.log(2 * math.pi)
    return z, log_n - log_jac - torch.log(model.scale).sum()


def log_variance_loss(
    log_r: torch.Tensor, z: torch.Tensor, w: torch.Tensor, delta: float = 1.0
) -> torch.Tensor:
    """The log-variance loss of a density r against q(z) = N(z; 0, I) w(z) / Z0
    on prior points z (N, D) with their weights w (N,) and log r(z) (N,).

    The residual e = log r(z) - log N(z) - log w(z) is constant where r = q;
    the loss is the Huber loss (``delta``) of e minus its batch median (held
    fixed), so that the rare points of extreme weight (a classifier's tails:
    w of 1e-13 or 100) pull with a bounded force. A zero weight counts as
    log w = log of the smallest positive float. The log-variance divergence:
    Richter et al., arXiv:2010.10436.
    """
    log_n = -0.5 * (z**2).sum(1)  # log N(z) up to a constant
    tiny = torch.finfo(w.dtype).tiny
    e = log_r - log_n - torch.log(w.clamp(min=tiny))  # (N,)
    e = e - e.detach().median()
    return torch.nn.functional.huber_loss(e, torch.zeros_like(e), delta=delta)


def train_flow(
    z: np.ndarray,
    w: np.ndarray,
    arch: flows.FlowConfig,
    optim: OptimConfig,
    seed: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
    identity: bool = False,
    reverse_kl: float = 0.0,
    log_q: Callable[[torch.Tensor], torch.Tensor] | None = None,
    log_variance: float = 0.0,
) -> flows.RealNVP:
    """A flow refiner r: weighted maximum likelihood on the latent points,
    -sum w log r(z) / sum w, plus, with ``reverse_kl`` = lambda > 0, lambda times
    the reverse Kullback-Leibler divergence KL(r || q) = E_r[log r - log q] + c,
    estimated on a batch of the refiner's own draws z = phi(y) per step against
    the known unnormalised target log q(z) = -|z|^2/2 + log w(g(z)) (Eq. 3,
    ``log_q``), as Boltzmann generators train (Noe et al., arXiv:1812.01729).

    Maximum likelihood covers every mode with its weighted share but tolerates
    mass where q is small (the valleys between modes, which a diffeomorphism of
    N(0, I) cannot empty, only thin); the reverse term penalises exactly that
    mass, while the likelihood term keeps every mode covered (the reverse term
    alone seeks modes). ``identity`` starts every coupling at the identity
    (:func:`zero_couplings`), at the weighted Gaussian of the points.

    With ``log_variance`` = mu > 0, mu times a regression of the log-density
    ratio is added (:func:`log_variance_loss`): on the same prior points, log
    r(z) - log N(z; 0, I) is fitted to their known log w, up to a constant.
    The likelihood learns w only from which points carry more weight, a
    gradient whose noise (of order one per point) swamps a signal of order
    w - 1 where the weights are mild; the regression's noise shrinks with its
    residual, so it keeps refining where the likelihood has stalled.

    Raises:
        ValueError: for reverse_kl < 0 or log_variance < 0, or reverse_kl > 0
            without log_q.
    """
    if log_variance < 0:
        raise ValueError(f"refiner.log_variance must be >= 0, got {log_variance}")
    if reverse_kl < 0:
        raise ValueError(f"refiner.reverse_kl must be >= 0, got {reverse_kl}")
    if reverse_kl > 0 and log_q is None:
        raise ValueError("refiner.reverse_kl > 0 needs the target log q(z)")
    if w.shape != (len(z),):
        raise ValueError(f"{len(z)} points but weights of shape {w.shape}")
    torch.manual_seed(seed)
    model = flows.RealNVP(z.shape[1], arch, permutation_seed=seed % 2**32)
    if identity:
        zero_couplings(model)
    model = model.to(device=device, dtype=dtype)
    zt = torch.as_tensor(z, dtype=dtype, device=device)
    wt = torch.as_tensor(w, dtype=dtype, device=device)
    model.set_standardisation(zt, wt)
    log.info(
        "flow refiner %s on %d points, identity start %s, reverse KL x %g, "
        "log-variance x %g",
        arch,
        len(z),
        identity,
        reverse_kl,
        log_variance,
    )

    def loss(zb: torch.Tensor, wb: torch.Tensor) -> torch.Tensor:
        log_r = model.log_prob(zb)  # (B,)
        out = -(wb * log_r).sum() / wb.sum()
        if log_variance:
            out = out + log_variance * log_variance_loss(log_r, zb, wb)
        if reverse_kl:
            y = torch.randn(len(zb), model.width, dtype=dtype).to(device)
            z_r, log_r_own = log_prob_of_generated(model, y)
            out = out + reverse_kl * (log_r_own - log_q(z_r)).mean()
        return out

    fit(model, loss, [zt, wt], optim, torch_generator(seed + 1), "refiner", progress)
    return model


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
