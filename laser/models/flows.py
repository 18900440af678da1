"""RealNVP normalising flow from FrEIA 0.2 blocks, trained by (weighted) likelihood."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import FrEIA.framework as Ff
import FrEIA.modules as Fm
import numpy as np
import torch
from torch import nn

from laser.data.transforms import (
    FeatureSpec,
    FeatureTransform,
    from_hparams,
    to_hparams,
)
from laser.nn import mlp
from laser.progress import Progress
from laser.seeding import torch_generator
from laser.training import OptimConfig, fit

__all__ = [
    "FlowConfig",
    "RealNVP",
    "build",
    "train",
    "transform",
    "sample",
    "nll",
]

log = logging.getLogger(__name__)

#: Rows per pass of g in :func:`transform`: on one CPU thread, batches that stay in
#: the cache run faster (the rings' trained g on 400k points, two such jobs side by
#: side: 7.3 s in batches of 16384, 9.1 s of 100000).
PASS_ROWS = 16_384


@dataclass(frozen=True)
class FlowConfig:
    """Architecture of the RealNVP baseline (arXiv:2106.00792, Sec. 4.1)."""

    n_blocks: int = 12  # coupling blocks (rings: 20)
    hidden_layers: int = 3  # hidden layers of each coupling subnet
    hidden_units: int = 48  # units per hidden layer (rings: 60)
    clamp: float = 2.0  # soft clamp of the log-scale in each coupling

    def __post_init__(self) -> None:
        for name in ("n_blocks", "hidden_layers", "hidden_units"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.clamp > 0:
            raise ValueError(f"clamp must be > 0, got {self.clamp}")


class RealNVP(nn.Module):
    """RealNVP flow between data x and a standard normal latent z.

    Each of the `n_blocks` coupling blocks transforms one half of the
    coordinates affinely with scale and shift predicted by one MLP from the
    other half, then permutes the coordinates (FrEIA 0.2 `AllInOneBlock`).

    The data are mapped feature by feature to the networks' space by `T`
    (log, logit; :class:`~laser.data.transforms.FeatureTransform`, the identity
    unless `transforms` say otherwise) and standardised by a fixed affine map
    (`shift`, `scale`, set from the training data) before the coupling blocks,
    so the generator is g(z) = T^-1(shift + scale * f^-1(z)), in data units;
    both log-determinants are included.

    A coupling needs two coordinates: a 1-D flow (D = 1) carries one auxiliary
    coordinate e ~ N(0, 1) beside x (an augmented flow), its latent space is
    2-D and g(z) drops e. Its log_prob(x) is then log q(x, e) - log N(e) for a
    fresh e, which equals log p_g(x) where q has learnt to factorise, as
    maximum likelihood on (x, e) drives it to.

    References:
        Dinh, Sohl-Dickstein, Bengio, arXiv:1605.08803 (RealNVP);
        Huang, Dinh, Courville, arXiv:2002.07101 (augmented flows);
        arXiv:2106.00792, Sec. 2.1, Eqs. (1)-(2) and Sec. 4.1.
    """

    def __init__(
        self,
        dim: int,
        config: FlowConfig,
        permutation_seed: int = 0,
        transforms: list[FeatureSpec] | None = None,
    ):
        super().__init__()
        self.dim = dim
        self.config = config
        self.permutation_seed = permutation_seed
        specs = transforms or [FeatureSpec()] * dim
        if len(specs) != dim:
            raise ValueError(f"{len(specs)} transforms for {dim} features")
        self.transform = FeatureTransform(specs)
        self.width = max(dim, 2)  # coordinates of the couplings: x, and e if D = 1

        def subnet(n_in: int, n_out: int) -> nn.Module:
            return mlp(n_in, n_out, config.hidden_layers, config.hidden_units)

        # AllInOneBlock: affine coupling of one half by one subnet, a global affine
        # scaling and a fixed random permutation, drawn from numpy's global RNG:
        # seed it for reproducible permutations and restore the caller's state.
        state = np.random.get_state()  # noqa: NPY002
        try:
            np.random.seed(permutation_seed)  # noqa: NPY002
            inn = Ff.SequenceINN(self.width)
            for _ in range(config.n_blocks):
                inn.append(
                    Fm.AllInOneBlock,
                    subnet_constructor=subnet,
                    affine_clamping=config.clamp,
                )
        finally:
            np.random.set_state(state)  # noqa: NPY002
        self.inn = inn
        self.register_buffer("shift", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))

    @property
    def hparams(self) -> dict[str, Any]:
        """Everything `build` needs to rebuild this model."""
        hp = {
            "kind": "realnvp",
            "dim": self.dim,
            "permutation_seed": self.permutation_seed,
            **asdict(self.config),
        }
        if any(s.kind != "none" for s in self.transform.specs):
            hp["transforms"] = to_hparams(self.transform.specs)
        return hp

    def set_standardisation(
        self, x: torch.Tensor, w: torch.Tensor | None = None
    ) -> None:
        """Set the fixed affine map from training data x (N, D), weighted by w (N,)
        where given (the mean and standard deviation of the weighted points), after
        the feature transforms."""
        x = self.transform(x)[0]
        if w is None:
            self.shift.copy_(x.mean(0))
            self.scale.copy_(x.std(0).clamp_min(1e-6))
            return
        p = (w / w.sum()).unsqueeze(1)  # (N, 1)
        mean = (p * x).sum(0)  # (D,)
        self.shift.copy_(mean)
        # with negative weights (NLO events) the variance may come out <= 0
        var = (p * (x - mean) ** 2).sum(0)  # (D,)
        self.scale.copy_(var.clamp_min(1e-12).sqrt().clamp_min(1e-6))

    def _encode(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z (N, L), log|det dz/d(x, e)| (N,) and log N(e) (N,) (0 for D > 1)."""
        y, log_t = self.transform(x)  # (N, D), (N,)
        u = (y - self.shift) / self.scale  # (N, D)
        log_e = u.new_zeros(len(u))  # (N,)
        if self.width > self.dim:
            e = torch.randn(len(u), 1).to(u)  # (N, 1)
            u = torch.cat([u, e], 1)  # (N, 2)
            log_e = -0.5 * (e**2).sum(1) - 0.5 * np.log(2 * np.pi)
        z, log_jac = self.inn(u)
        return z, log_jac + log_t - torch.log(self.scale).sum(), log_e

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map data x (N, D) to latent z (N, L) with log|det dz/dx| (N,); L = D,
        or 2 for D = 1, whose auxiliary coordinate e ~ N(0, 1) is drawn here."""
        z, log_jac, _ = self._encode(x)
        return z, log_jac

    @property
    def latent_dim(self) -> int:
        """Dimension L of the latent space z (that of the data; 2 for D = 1)."""
        return self.width

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """The generator g(z): latent (N, L) to data (N, D), in data units."""
        u, _ = self.inn(z, rev=True)
        return self.transform.inverse(self.shift + self.scale * u[:, : self.dim])

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p_g(x) (N,) by the change of variables, Eq. (2) (for D = 1 the
        estimate of the class docstring)."""
        z, log_jac, log_e = self._encode(x)
        log_pz = -0.5 * (z**2).sum(1) - 0.5 * self.width * np.log(2 * np.pi)
        return log_pz + log_jac - log_e


def build(hparams: dict[str, Any]) -> RealNVP:
    """Rebuild a RealNVP from its hparams (as saved with the checkpoint)."""
    hp = dict(hparams)
    if hp.pop("kind", "realnvp") != "realnvp":
        raise ValueError(f"not a RealNVP checkpoint: {hparams}")
    dim, seed = hp.pop("dim"), hp.pop("permutation_seed")
    specs = from_hparams(hp.pop("transforms", None))
    return RealNVP(dim, FlowConfig(**hp), permutation_seed=seed, transforms=specs)


def nll(model: RealNVP, x: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
    """(Weighted) negative log-likelihood per point: -sum w log p(x) / sum w."""
    logp = model.log_prob(x)  # (N,)
    if w is None:
        return -logp.mean()
    return -(w * logp).sum() / w.sum()


def train(
    x: np.ndarray,
    config: FlowConfig,
    optim: OptimConfig,
    seed: int,
    weights: np.ndarray | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
    transforms: list[FeatureSpec] | None = None,
) -> RealNVP:
    """Fit a RealNVP to samples x (N, D) by maximum (weighted) likelihood.

    The weighted form serves a flow refiner trained on weighted latent points
    (arXiv:2106.00792, Sec. 3); with `weights=None` it is the baseline's NLL.

    Args:
        x: training points (N, D).
        config: architecture.
        optim: optimiser settings (Sec. 4.1: Adam 1e-3, weight decay 1e-5, x0.999).
        seed: seeds initialisation, permutations and shuffling.
        weights: optional per-point weights (N,); negative ones (NLO events)
            are allowed: the weighted NLL stays an unbiased estimate of the
            cross entropy as long as the weights sum to > 0.
        dtype: float32 or float64.
        device: where to train.
        progress: the job's saved progress (:func:`laser.training.fit`).
        transforms: the features' transforms (log, logit), kept in the model.
    """
    torch.manual_seed(seed)
    model = RealNVP(
        x.shape[1], config, permutation_seed=seed % 2**32, transforms=transforms
    )
    model = model.to(device=device, dtype=dtype)
    xt = torch.as_tensor(x, dtype=dtype, device=device)
    tensors = [xt]
    if weights is not None:
        if weights.shape != (len(x),):
            raise ValueError(f"{len(x)} points but weights of shape {weights.shape}")
        tensors.append(torch.as_tensor(weights, dtype=dtype, device=device))
    model.set_standardisation(*tensors)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("RealNVP %s, %d parameters, %d points", config, n_params, len(x))

    def loss(*batch: torch.Tensor) -> torch.Tensor:
        return nll(model, *batch)

    fit(model, loss, tensors, optim, torch_generator(seed + 1), "flow", progress)
    return model


@torch.no_grad()
def transform(
    model: RealNVP, z: np.ndarray | torch.Tensor, batch_size: int = PASS_ROWS
) -> np.ndarray:
    """x = g(z) for latent points z (N, L), in batches: (N, D) float32.

    Any model with ``generate`` (a RealNVP, a GAN generator, a refined
    generator of :mod:`laser.models.generators`) and parameters serves."""
    param = next(model.parameters())
    zt = torch.as_tensor(z)
    xs = [model.generate(b.to(param)).cpu() for b in torch.split(zt, batch_size)]
    return torch.cat(xs).numpy().astype(np.float32)


def sample(
    model: RealNVP, n: int, seed: int, batch_size: int = PASS_ROWS
) -> tuple[np.ndarray, np.ndarray]:
    """Draw z ~ N(0, I) and x = g(z): returns (z, x), each (n, D) float32."""
    z = torch.randn(
        n, model.latent_dim, generator=torch_generator(seed), dtype=torch.float64
    )
    z = z.float()  # stored as float32: x is g of exactly the stored z
    return z.numpy(), transform(model, z, batch_size)
