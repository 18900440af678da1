"""Black-box generators: z -> x with hidden randomness, no gradients (Sec. 3).

A black box maps latent points z (N, L) and a random generator for its own
hidden randomness to samples x (N, D). It need not be differentiable, nor a
function of z alone: when it draws hidden random numbers that are marginalised
over (a physics simulator, smearing, a random discrete choice) the same z gives
different x, so the classifier's weights w(x) are not a function of z and the
direct pull-back w(z) = w(g(z)) is undefined. LaSeR then pulls the weights back
with OmniFold (:mod:`laser.omnifold`; arXiv:2106.00792, Sec. 3; Andreassen et
al., PRL 124 (2020) 182001). HMC needs gradients of g and does not apply; the
refiner, trained on weighted latent points, does.

The workflow names its black box in config as ``"package.module:name"``
(:func:`resolve`) with a plain dict of options (:func:`make`). Two are shipped:

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

import importlib
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from laser import generators, io
from laser.flows import transform
from laser.seeding import derive_seed, torch_generator

__all__ = [
    "BlackBox",
    "FunctionBlackBox",
    "GaussianSmear",
    "SmearedGenerator",
    "resolve",
    "make",
    "generate",
    "sample",
    "load",
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

    Example:
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


@dataclass(frozen=True)
class GaussianSmear:
    """x = a z + shift + sigma eps, eps ~ N(0, I): a linear map with smearing.

    Latent and data dimensions are equal (``latent_dim``). For z ~ N(mu, I)
    the marginal of x is N(a mu + shift, (a^2 + sigma^2) I), so reweighting z
    from N(0, I) to N(mu, I), nu*(z) = N(z; mu, I) / N(z; 0, I), reproduces
    that target exactly: the known answer of the OmniFold tests.

    Example:
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
            parameters, e.g. the RealNVP baseline of :mod:`laser.flows`; its
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


def resolve(spec: str) -> Callable[..., Any]:
    """Import ``"package.module:name"`` (name may be dotted: ``"mod:Cls.make"``).

    Raises:
        ValueError: naming the spec, when it is malformed, its module cannot
            be imported, the name is missing, or the object is not callable.

    Example:
        >>> resolve("laser.blackbox:GaussianSmear") is GaussianSmear
        True
    """
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise ValueError(
            f"black box {spec!r}: expected 'package.module:name' (one colon)"
        )
    module_name, name = spec.split(":")
    if not module_name or not name:
        raise ValueError(f"black box {spec!r}: empty module or name")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(
            f"black box {spec!r}: cannot import module {module_name!r} ({e})"
        ) from None
    for part in name.split("."):
        if not hasattr(obj, part):
            raise ValueError(
                f"black box {spec!r}: module {module_name!r} has no {name!r}"
            )
        obj = getattr(obj, part)
    if not callable(obj) and not isinstance(obj, BlackBox):
        raise ValueError(
            f"black box {spec!r}: {type(obj).__name__} object is not callable"
        )
    return obj


def make(
    spec: str,
    options: dict[str, Any] | None = None,
    generator: nn.Module | None = None,
) -> BlackBox:
    """The black box named in config: ``spec`` with its plain ``options``.

    ``spec`` names a :class:`BlackBox` instance (then ``options`` must be
    empty), or a factory (a class or function) that returns one when called
    with ``**options``, plus ``generator=`` where it takes that argument (the
    trained generator a black box such as :class:`SmearedGenerator` is built on).

    Raises:
        ValueError: naming the spec, when it cannot be resolved, the factory
            rejects the options, or the result is not a black box.
    """
    options = dict(options or {})
    obj = resolve(spec)
    if isinstance(obj, BlackBox) and not inspect.isclass(obj):
        if options:
            raise ValueError(
                f"black box {spec!r} is an instance; it takes no options, "
                f"got {sorted(options)}"
            )
        return obj
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        params = {}
    if "generator" in params:
        if generator is None:
            raise ValueError(f"black box {spec!r} is built on a generator; none given")
        options["generator"] = generator
    try:
        box = obj(**options)
    except TypeError as e:
        raise ValueError(f"black box {spec!r}: bad options {options} ({e})") from None
    if not isinstance(box, BlackBox):
        raise ValueError(
            f"black box {spec!r} gave a {type(box).__name__}, not a black box "
            "(latent_dim, stochastic, sample(z, rng))"
        )
    log.info("black box %s (stochastic: %s), options %s", spec, box.stochastic, options)
    return box


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


def load(
    spec: str,
    options: dict[str, Any],
    baseline: str,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> BlackBox:
    """The workflow's black box: :func:`make` with the trained baseline generator
    of the checkpoint ``baseline`` (passed to a factory that takes one)."""
    g = io.load_model(baseline, generators.build, dtype, device)
    return make(spec, options, generator=g)
