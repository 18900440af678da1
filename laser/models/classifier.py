"""Post-hoc classifier: data against generated samples, logits turned into weights."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from laser.data.transforms import (
    FeatureSpec,
    FeatureTransform,
    from_hparams,
    to_hparams,
)
from laser.nn import mlp
from laser.progress import Progress
from laser.training import OptimConfig, fit

__all__ = [
    "ClassifierConfig",
    "Classifier",
    "LOGIT_BOUND",
    "build",
    "train",
    "logits",
    "weights_from_logits",
]

log = logging.getLogger(__name__)

# Logits are clamped to [-LOGIT_BOUND, LOGIT_BOUND] before they become weights, so a
# saturated classifier (f -> 0 or 1) gives weights in [e^-30, e^30], never 0 or inf.
LOGIT_BOUND = 30.0


@dataclass(frozen=True)
class ClassifierConfig:
    """Architecture of the post-hoc classifier (arXiv:2106.00792, Sec. 4.1)."""

    hidden_layers: int = 8  # hidden layers of the MLP
    hidden_units: int = 96  # units per hidden layer

    def __post_init__(self) -> None:
        for name in ("hidden_layers", "hidden_units"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class Classifier(nn.Module):
    """MLP f(x) = sigmoid(logit(x)) separating data (label 1) from g(z) (label 0).

    Inputs are mapped by the features' transforms (log, logit;
    :class:`~laser.data.transforms.FeatureTransform`, the identity unless
    `transforms` say otherwise) and standardised by fixed buffers set from the
    training points.
    """

    def __init__(
        self,
        dim: int,
        config: ClassifierConfig,
        transforms: list[FeatureSpec] | None = None,
    ):
        super().__init__()
        self.dim = dim
        self.config = config
        specs = transforms or [FeatureSpec()] * dim
        if len(specs) != dim:
            raise ValueError(f"{len(specs)} transforms for {dim} features")
        self.transform = FeatureTransform(specs)
        self.net = mlp(dim, 1, config.hidden_layers, config.hidden_units)
        self.register_buffer("shift", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))

    @property
    def hparams(self) -> dict[str, Any]:
        """Everything `build` needs to rebuild this model."""
        hp = {"kind": "classifier", "dim": self.dim, **asdict(self.config)}
        if any(s.kind != "none" for s in self.transform.specs):
            hp["transforms"] = to_hparams(self.transform.specs)
        return hp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logit log f/(1-f) of x (N, D), shape (N,)."""
        y = self.transform(x)[0]  # (N, D)
        return self.net((y - self.shift) / self.scale).squeeze(-1)

    def standardise_on(self, x: torch.Tensor) -> None:
        """Set the standardisation from the training points x (N, D)."""
        y = self.transform(x)[0]  # (N, D)
        self.shift.copy_(y.mean(0))
        self.scale.copy_(y.std(0).clamp_min(1e-6))

    def log_weight(self, x: torch.Tensor) -> torch.Tensor:
        """log w(x) = logit(x), clamped to +-LOGIT_BOUND (differentiable inside)."""
        return self(x).clamp(-LOGIT_BOUND, LOGIT_BOUND)


def build(hparams: dict[str, Any]) -> Classifier:
    """Rebuild a Classifier from its hparams."""
    hp = dict(hparams)
    if hp.pop("kind", "classifier") != "classifier":
        raise ValueError(f"not a classifier checkpoint: {hparams}")
    specs = from_hparams(hp.pop("transforms", None))
    return Classifier(hp.pop("dim"), ClassifierConfig(**hp), specs)


def train(
    x_data: np.ndarray,
    x_gen: np.ndarray,
    config: ClassifierConfig,
    optim: OptimConfig,
    seed: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    w_data: np.ndarray | None = None,
    w_gen: np.ndarray | None = None,
    progress: Progress | None = None,
    transforms: list[FeatureSpec] | None = None,
) -> Classifier:
    """Train the classifier with binary cross entropy, data = 1, generated = 0.

    With equal class sizes an ideal classifier has f/(1-f) = p_data/p_g, so the
    logit is the log of the DCTR weight (arXiv:2106.00792, Sec. 3).

    With per-point weights (either class, or both) the loss is the weighted
    BCE sum_i w_i bce_i / sum_i w_i over all points, and the ideal classifier
    has f/(1-f) = (W_data p_data^w) / (W_gen p_gen^w), where W is a class's sum
    of weights and p^w its weighted, normalised density; the prior correction
    log(W_gen / W_data) then makes the logit log p_data^w / p_gen^w, the
    density ratio of the weighted classes (the OmniFold steps,
    :mod:`laser.blackbox.omnifold`). Without weights, W are the class sizes.

    Args:
        x_data: target samples (N, D).
        x_gen: generator samples (M, D); the logit is corrected by log(M/N)
            if the classes are unbalanced, so the weight stays the density ratio.
        config: architecture.
        optim: optimiser settings (Sec. 4.1: Adam 1e-3, x0.999, 50 epochs).
        seed: seeds initialisation and shuffling.
        dtype: float32 or float64.
        device: where to train.
        w_data: optional weights of the data points (N,), finite; negative
            ones (NLO events) are allowed where the weights sum to > 0: the
            weighted BCE stays an unbiased estimate of its expectation, whose
            optimum is the ratio of the (net) densities.
        w_gen: optional weights of the generated points (M,), finite and >= 0.
        progress: the job's saved progress (:func:`laser.training.fit`).
        transforms: the features' transforms (log, logit), kept in the model.

    Raises:
        ValueError: for unequal columns, or weights of the wrong shape, with a
            non-finite or negative entry (its row named) or a zero sum.
    """
    if x_data.shape[1] != x_gen.shape[1]:
        raise ValueError(
            f"data have {x_data.shape[1]} columns but generated samples "
            f"{x_gen.shape[1]}"
        )
    if w_data is not None or w_gen is not None:
        return _train_weighted(
            x_data,
            x_gen,
            _check_weights(w_data, len(x_data), "w_data", negative=True),
            _check_weights(w_gen, len(x_gen), "w_gen"),
            config,
            optim,
            seed,
            dtype,
            device,
            progress,
            transforms,
        )
    torch.manual_seed(seed)
    model = Classifier(x_data.shape[1], config, transforms)
    model = model.to(device=device, dtype=dtype)
    x = torch.as_tensor(np.concatenate([x_data, x_gen]), dtype=dtype, device=device)
    y = torch.cat([torch.ones(len(x_data)), torch.zeros(len(x_gen))]).to(x)
    model.standardise_on(x)
    log.info("classifier %s, %d data vs %d generated", config, len(x_data), len(x_gen))

    def loss(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(model(xb), yb)

    fit(
        model,
        loss,
        [x, y],
        optim,
        torch.Generator().manual_seed(seed + 1),
        "classifier",
        progress,
    )
    with torch.no_grad():  # prior-ratio correction: logit -> log p_data/p_g
        model.net[-1].bias += float(np.log(len(x_gen) / len(x_data)))
    return model


def _check_weights(
    w: np.ndarray | None, n: int, name: str, negative: bool = False
) -> np.ndarray:
    """Per-point weights (n,) float64: ones for None; else checked (negative
    entries refused unless `negative`)."""
    if w is None:
        return np.ones(n)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"{name} has shape {w.shape}, expected ({n},)")
    bad = np.flatnonzero(~np.isfinite(w) | ((w < 0) & (not negative)))
    if len(bad):
        need = "finite" if negative else "finite and >= 0"
        raise ValueError(
            f"{name}[{bad[0]}] = {w[bad[0]]}: weights must be {need} "
            f"({len(bad)} bad rows)"
        )
    if w.sum() <= 0:
        raise ValueError(f"{name} sums to zero")
    return w


def _train_weighted(
    x_data: np.ndarray,
    x_gen: np.ndarray,
    w_data: np.ndarray,
    w_gen: np.ndarray,
    config: ClassifierConfig,
    optim: OptimConfig,
    seed: int,
    dtype: torch.dtype,
    device: torch.device | str,
    progress: Progress | None,
    transforms: list[FeatureSpec] | None = None,
) -> Classifier:
    """`train` with per-point weights: weighted BCE, prior log(W_gen / W_data)."""
    torch.manual_seed(seed)
    model = Classifier(x_data.shape[1], config, transforms)
    model = model.to(device=device, dtype=dtype)
    x = torch.as_tensor(np.concatenate([x_data, x_gen]), dtype=dtype, device=device)
    y = torch.cat([torch.ones(len(x_data)), torch.zeros(len(x_gen))]).to(x)
    w_all = np.concatenate([w_data, w_gen])  # (N + M,)
    # One global scale (mean weight 1) leaves the optimum unchanged; a batch's loss
    # sum w bce / (batch size) is then an unbiased estimate of the weighted BCE.
    w = torch.as_tensor(w_all / w_all.mean(), dtype=dtype, device=device)
    model.standardise_on(x)
    log.info(
        "weighted classifier %s, %d data (sum w %.6g) vs %d generated (sum w %.6g)",
        config,
        len(x_data),
        w_data.sum(),
        len(x_gen),
        w_gen.sum(),
    )

    def loss(xb: torch.Tensor, yb: torch.Tensor, wb: torch.Tensor) -> torch.Tensor:
        bce = F.binary_cross_entropy_with_logits(model(xb), yb, reduction="none")
        return (wb * bce).mean()

    fit(
        model,
        loss,
        [x, y, w],
        optim,
        torch.Generator().manual_seed(seed + 1),
        "classifier",
        progress,
    )
    with torch.no_grad():  # prior-ratio correction with the classes' sums of weights
        model.net[-1].bias += float(np.log(w_gen.sum() / w_data.sum()))
    return model


@torch.no_grad()
def logits(model: Classifier, x: np.ndarray, batch_size: int = 100_000) -> np.ndarray:
    """Clamped logits log w(x) of points x (N, D), as float64 (N,)."""
    param = next(model.parameters())
    xt = torch.as_tensor(x)
    out = [
        model.log_weight(b.to(param)).cpu().double()
        for b in torch.split(xt, batch_size)
    ]
    return torch.cat(out).numpy()


def weights_from_logits(logit: np.ndarray) -> np.ndarray:
    """DCTR weights w = f/(1-f) = exp(logit), the logit clamped to +-LOGIT_BOUND."""
    return np.exp(np.clip(logit, -LOGIT_BOUND, LOGIT_BOUND))
