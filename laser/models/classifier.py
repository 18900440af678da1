"""Post-hoc classifier: data against generated samples, logits turned into weights."""

from __future__ import annotations

import logging
from collections.abc import Callable
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
from laser.models import flows
from laser.models.flow_aware import DensityFeature, generate_with_log_prob, same_flow
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
    # decay of an exponential moving average of the parameters over the updates
    # (:func:`~laser.training.ema_update`), which `train` returns in place of the
    # last iterate; 0 is the paper's last iterate, 0.999 averages over about the
    # last 1000 updates
    ema: float = 0.0

    def __post_init__(self) -> None:
        for name in ("hidden_layers", "hidden_units"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")


class Classifier(nn.Module):
    """MLP f(x) = sigmoid(logit(x)) separating data (label 1) from g(z) (label 0).

    Inputs are mapped by the features' transforms (log, logit;
    :class:`~laser.data.transforms.FeatureTransform`, the identity unless
    `transforms` say otherwise) and standardised by fixed buffers set from the
    training points.

    With a `flow` (config ``classifier.log_density``) the MLP also sees the
    flow's standardised log p_g(x) (:class:`~laser.models.flow_aware.DensityFeature`):
    logit = MLP([x, log p_g(x)]). The flow is part of the model and of its
    checkpoint, so :meth:`log_weight` is a function of x alone; it costs one
    inverse pass of the flow per call, which :meth:`log_weight_latent` saves
    where the generator is that flow.
    """

    def __init__(
        self,
        dim: int,
        config: ClassifierConfig,
        transforms: list[FeatureSpec] | None = None,
        flow: nn.Module | None = None,
    ):
        super().__init__()
        self.dim = dim
        self.config = config
        specs = transforms or [FeatureSpec()] * dim
        if len(specs) != dim:
            raise ValueError(f"{len(specs)} transforms for {dim} features")
        self.transform = FeatureTransform(specs)
        self.density = None if flow is None else DensityFeature(flow)
        n_in = dim + (flow is not None)
        self.net = mlp(n_in, 1, config.hidden_layers, config.hidden_units)
        self.register_buffer("shift", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))

    @property
    def hparams(self) -> dict[str, Any]:
        """Everything `build` needs to rebuild this model."""
        hp = {"kind": "classifier", "dim": self.dim, **asdict(self.config)}
        if not hp["ema"]:
            del hp["ema"]
        if any(s.kind != "none" for s in self.transform.specs):
            hp["transforms"] = to_hparams(self.transform.specs)
        if self.density is not None:
            hp["flow"] = dict(self.density.flow.hparams)
        return hp

    def logit_with(self, x: torch.Tensor, log_p: torch.Tensor | None) -> torch.Tensor:
        """The logit (N,) of x (N, D) given log p_g(x) (N,) (None without a flow)."""
        y = (self.transform(x)[0] - self.shift) / self.scale  # (N, D)
        if self.density is not None:
            y = torch.cat([y, self.density.column(log_p)], -1)  # (N, D + 1)
        return self.net(y).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logit log f/(1-f) of x (N, D), shape (N,)."""
        return self.logit_with(x, None if self.density is None else self.density(x))

    def standardise_on(
        self, x: torch.Tensor, log_p: torch.Tensor | None = None
    ) -> None:
        """Set the standardisation from the training points x (N, D) (and their
        log p_g (N,), with a flow)."""
        y = self.transform(x)[0]  # (N, D)
        self.shift.copy_(y.mean(0))
        self.scale.copy_(y.std(0).clamp_min(1e-6))
        if self.density is not None:
            self.density.standardise_on(log_p)

    def log_weight(self, x: torch.Tensor) -> torch.Tensor:
        """log w(x) = logit(x), clamped to +-LOGIT_BOUND (differentiable inside)."""
        return self(x).clamp(-LOGIT_BOUND, LOGIT_BOUND)

    def log_weight_latent(
        self, generator: nn.Module, images: bool = False
    ) -> Callable[[torch.Tensor], Any] | None:
        """z -> log w(g(z)) (N,) in one pass of g, where the generator g is the
        classifier's own flow (log p_g(g(z)) from z,
        :func:`~laser.models.flow_aware.generate_with_log_prob`); None otherwise
        (then log_weight(g(z)) is the way). Differentiable in z. With ``images``
        it returns (log w, x = g(z)), the images it computed on the way."""
        if self.density is None or not same_flow(self.density.flow, generator):
            return None
        flow = self.density.flow

        def log_w(z: torch.Tensor) -> Any:
            x, log_p = generate_with_log_prob(flow, z)
            out = self.logit_with(x, log_p).clamp(-LOGIT_BOUND, LOGIT_BOUND)
            return (out, x) if images else out

        return log_w


def build(hparams: dict[str, Any]) -> Classifier:
    """Rebuild a Classifier from its hparams (with its flow, if it has one)."""
    hp = dict(hparams)
    if hp.pop("kind", "classifier") != "classifier":
        raise ValueError(f"not a classifier checkpoint: {hparams}")
    specs = from_hparams(hp.pop("transforms", None))
    flow = hp.pop("flow", None)
    flow = None if flow is None else flows.build(flow)
    return Classifier(hp.pop("dim"), ClassifierConfig(**hp), specs, flow)


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
    flow: nn.Module | None = None,
    fresh: Callable[[int], np.ndarray] | None = None,
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
        config: architecture, and the moving average of the parameters
            (``ema``) that replaces the last iterate.
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
        flow: the baseline flow whose log p_g(x) the classifier also sees
            (``classifier.log_density``; :mod:`laser.models.flow_aware`), kept
            in the model; its log p_g of the training points is computed once
            (for fresh samples, once per epoch).
        fresh: epoch e -> that epoch's generated sample (M, D), for e >= 2
            (``classifier.fresh_generated``; epoch 1 trains on `x_gen`, which
            also sets the standardisation); a function of e alone, so that a
            resumed training sees the same samples. Unit weights (no `w_gen`).

    Raises:
        ValueError: for unequal columns, or weights of the wrong shape, with a
            non-finite or negative entry (its row named) or a zero sum; for
            `fresh` with `w_gen`.
    """
    if x_data.shape[1] != x_gen.shape[1]:
        raise ValueError(
            f"data have {x_data.shape[1]} columns but generated samples "
            f"{x_gen.shape[1]}"
        )
    if fresh is not None and w_gen is not None:
        raise ValueError("fresh generated samples have unit weights: no w_gen")
    weighted = w_data is not None or w_gen is not None
    if weighted:
        w_data = _check_weights(w_data, len(x_data), "w_data", negative=True)
        w_gen = _check_weights(w_gen, len(x_gen), "w_gen")
    torch.manual_seed(seed)
    model = Classifier(x_data.shape[1], config, transforms, flow)
    model = model.to(device=device, dtype=dtype)
    x = torch.as_tensor(np.concatenate([x_data, x_gen]), dtype=dtype, device=device)
    y = torch.cat([torch.ones(len(x_data)), torch.zeros(len(x_gen))]).to(x)
    tensors = [x, y]
    if model.density is not None:
        tensors.append(model.density.log_prob(x))  # (N + M,)
    model.standardise_on(x, tensors[2] if model.density is not None else None)
    if weighted:
        w_all = np.concatenate([w_data, w_gen])  # (N + M,)
        # One global scale (mean weight 1) leaves the optimum unchanged; a batch's
        # loss sum w bce / (batch size) is then an unbiased estimate of the
        # weighted BCE.
        tensors.append(
            torch.as_tensor(w_all / w_all.mean(), dtype=dtype, device=device)
        )
        log.info(
            "weighted classifier %s, %d data (sum w %.6g) vs %d generated (sum w %.6g)",
            config,
            len(x_data),
            w_data.sum(),
            len(x_gen),
            w_gen.sum(),
        )
    else:
        log.info(
            "classifier %s, %d data vs %d generated", config, len(x_data), len(x_gen)
        )
    if model.density is not None or fresh is not None:
        log.info(
            "flow-aware: log p_g input %s, fresh generated sample per epoch %s",
            model.density is not None,
            fresh is not None,
        )

    def loss(xb: torch.Tensor, yb: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        if model.density is None:
            logit = model(xb)
        else:
            logit = model.logit_with(xb, rest[0])
        if not weighted:
            return F.binary_cross_entropy_with_logits(logit, yb)
        bce = F.binary_cross_entropy_with_logits(logit, yb, reduction="none")
        return (rest[-1] * bce).mean()

    refresh = None if fresh is None else _refresher(model, tensors, len(x_data), fresh)
    fit(
        model,
        loss,
        tensors,
        optim,
        torch.Generator().manual_seed(seed + 1),
        "classifier",
        progress,
        refresh,
        average=config.ema,
    )
    # prior-ratio correction: logit -> log p_data/p_g (with the classes' sums of
    # weights where weighted)
    prior = w_gen.sum() / w_data.sum() if weighted else len(x_gen) / len(x_data)
    with torch.no_grad():
        model.net[-1].bias += float(np.log(prior))
    return model


def _refresher(
    model: Classifier,
    first: list[torch.Tensor],
    n_data: int,
    fresh: Callable[[int], np.ndarray],
) -> Callable[[int], list[torch.Tensor]]:
    """Epoch e -> its training tensors: `first` for e = 1, else the data with
    fresh(e) as the generated rows (and their log p_g with a flow)."""

    def tensors(epoch: int) -> list[torch.Tensor]:
        if epoch == 1:
            return first
        x_gen = torch.as_tensor(fresh(epoch)).to(first[0])
        if x_gen.shape != first[0][n_data:].shape:
            raise ValueError(
                f"fresh generated sample of epoch {epoch} has shape "
                f"{tuple(x_gen.shape)}, expected {tuple(first[0][n_data:].shape)}"
            )
        out = [torch.cat([first[0][:n_data], x_gen]), *first[1:]]
        if model.density is not None:
            log_p = model.density.log_prob(x_gen)  # (M,)
            out[2] = torch.cat([first[2][:n_data], log_p])
        return out

    return tensors


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
