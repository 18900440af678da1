"""Post-hoc classifier: data against generated samples, logits turned into weights."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from laser.flows import mlp
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

    Inputs are standardised by fixed buffers set from the training points.
    """

    def __init__(self, dim: int, config: ClassifierConfig):
        super().__init__()
        self.dim = dim
        self.config = config
        self.net = mlp(dim, 1, config.hidden_layers, config.hidden_units)
        self.register_buffer("shift", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))

    @property
    def hparams(self) -> dict[str, Any]:
        """Everything `build` needs to rebuild this model."""
        return {"kind": "classifier", "dim": self.dim, **asdict(self.config)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logit log f/(1-f) of x (N, D), shape (N,)."""
        return self.net((x - self.shift) / self.scale).squeeze(-1)

    def log_weight(self, x: torch.Tensor) -> torch.Tensor:
        """log w(x) = logit(x), clamped to +-LOGIT_BOUND (differentiable inside)."""
        return self(x).clamp(-LOGIT_BOUND, LOGIT_BOUND)


def build(hparams: dict[str, Any]) -> Classifier:
    """Rebuild a Classifier from its hparams."""
    hp = dict(hparams)
    if hp.pop("kind", "classifier") != "classifier":
        raise ValueError(f"not a classifier checkpoint: {hparams}")
    return Classifier(hp.pop("dim"), ClassifierConfig(**hp))


def train(
    x_data: np.ndarray,
    x_gen: np.ndarray,
    config: ClassifierConfig,
    optim: OptimConfig,
    seed: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> Classifier:
    """Train the classifier with binary cross entropy, data = 1, generated = 0.

    With equal class sizes an ideal classifier has f/(1-f) = p_data/p_g, so the
    logit is the log of the DCTR weight (arXiv:2106.00792, Sec. 3).

    Args:
        x_data: target samples (N, D).
        x_gen: generator samples (M, D); the logit is corrected by log(M/N)
            if the classes are unbalanced, so the weight stays the density ratio.
        config: architecture.
        optim: optimiser settings (Sec. 4.1: Adam 1e-3, x0.999, 50 epochs).
        seed: seeds initialisation and shuffling.
        dtype: float32 or float64.
        device: where to train.
    """
    if x_data.shape[1] != x_gen.shape[1]:
        raise ValueError(
            f"data have {x_data.shape[1]} columns but generated samples "
            f"{x_gen.shape[1]}"
        )
    torch.manual_seed(seed)
    model = Classifier(x_data.shape[1], config).to(device=device, dtype=dtype)
    x = torch.as_tensor(np.concatenate([x_data, x_gen]), dtype=dtype, device=device)
    y = torch.cat([torch.ones(len(x_data)), torch.zeros(len(x_gen))]).to(x)
    model.shift.copy_(x.mean(0))
    model.scale.copy_(x.std(0).clamp_min(1e-6))
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
    )
    with torch.no_grad():  # prior-ratio correction: logit -> log p_data/p_g
        model.net[-1].bias += float(np.log(len(x_gen) / len(x_data)))
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
