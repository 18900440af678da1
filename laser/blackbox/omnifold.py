"""OmniFold pull-back of the classifier weights to the latent space of a stochastic g.

When the generator draws hidden random numbers (or is a non-differentiable black
box, :mod:`laser.blackbox`), the same latent point z gives different x, so the
classifier weight w(x) is not a function of z and the direct pull-back
w(z) = w(g(z)) of :mod:`laser.latent.target` is undefined. The paper
(arXiv:2106.00792, Sec. 3) pulls the weights back with OmniFold (Andreassen,
Komiske, Metodiev, Nachman, Thaler, PRL 124 (2020) 182001, arXiv:1911.09107),
an iterative, expectation-maximisation-like unfolding whose weights nu(z) are a
proper function of z: p(z) nu(z) pushed through g reproduces the data.

With generated pairs (z_i, x_i), x_i = g(z_i, hidden randomness), z_i ~ N(0, I),
data x_j, and nu_0 = 1, iteration n = 1, 2, ... does the two steps of the
PRL's algorithm, with generator latent space for its particle level and data
space for its detector level (`L[(w_1, A), (w_0, B)]` is the density ratio of
the weighted samples A over B learnt by a classifier,
:func:`laser.models.classifier.train`):

1. **Step 1 (data space; the PRL's pulled weights):** omega_n(x_i) =
   `nu_{n-1}(z_i) L[(1, data), (nu_{n-1}, gen)](x_i)`: the generated points,
   weighted by the previous latent weights, reweighted to the data.
2. **Step 2 (latent space; the PRL's pushed weights):** nu_n(z) = nu_{n-1}(z)
   `L[(omega_n, z_gen), (nu_{n-1}, z_gen)](z)`: the same latent points weighted
   by omega_n (label 1) against them weighted by nu_{n-1} (label 0). The ideal
   classifier's ratio is E[omega_n | z] / nu_{n-1}(z), so nu_n(z) =
   E[omega_n | z]: the step-1 weights averaged over the hidden randomness at
   fixed z, now a function of z (defined at new z too).

Step 2 here learns the correction of nu_{n-1} (label 0 weighted by nu_{n-1},
as in the PRL's equations); the equivalent form with unit label-0 weights
would learn nu_n from scratch with one classifier. Both have the same ideal
answer; the correction is small once the iterations settle, which suits a
small classifier.

So nu_n(z) = prod_{k<=n} c_k r_k(z), the product of the n latent classifiers'
ratios r_k, each factor normalised (c_k) so that nu_n has mean 1 over the
generated sample (p(z) nu_n(z) is a density). One iteration gives
nu_1(z) = E[w(x) | z], the classifier weight averaged over the hidden
randomness; later iterations undo the smearing, as iterative Bayesian
unfolding does, towards the maximum-likelihood latent weights. For a
deterministic g the first iteration already returns w(g(z)).

These latent weights feed the LaSeR refiner exactly as the direct weights
w(g(z)) do (:func:`laser.models.refiners.train`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.special import logsumexp
from torch import nn

from laser.evaluation.weights import kish_ess
from laser.models import classifier
from laser.models.classifier import LOGIT_BOUND, Classifier, ClassifierConfig
from laser.progress import Progress
from laser.seeding import derive_seed
from laser.training import OptimConfig

__all__ = [
    "OmniFoldConfig",
    "OmniFoldResult",
    "LatentWeight",
    "TABLE_COLUMNS",
    "build",
    "pull_back",
    "latent_log_weights",
    "weigh",
]

log = logging.getLogger(__name__)

#: Columns of the per-iteration diagnostics (one row per iteration).
TABLE_COLUMNS = [
    "iteration",
    "step1_loss",
    "step2_loss",
    "omega_norm",
    "omega_ess",
    "omega_max",
    "nu_norm",
    "nu_ess",
    "nu_min",
    "nu_max",
    "nu_change",
    "seconds",
]


@dataclass(frozen=True)
class OmniFoldConfig:
    """Settings of the OmniFold pull-back (arXiv:2106.00792, Sec. 3).

    Step 1 classifies data against generated x (data space), step 2 the
    generated z weighted by the step-1 weights against the same z weighted by the
    previous latent weights (latent space).
    """

    iterations: int = 3  # OmniFold iterations (each: step 1 and step 2)
    step1: ClassifierConfig = field(default_factory=ClassifierConfig)  # data space
    step1_optim: OptimConfig = field(default_factory=OptimConfig)  # its optimiser
    step2: ClassifierConfig = field(default_factory=ClassifierConfig)  # latent space
    step2_optim: OptimConfig = field(default_factory=OptimConfig)  # its optimiser

    def __post_init__(self) -> None:
        if isinstance(self.iterations, bool) or not isinstance(self.iterations, int):
            raise ValueError(f"iterations must be an integer, got {self.iterations!r}")
        if self.iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {self.iterations}")


class LatentWeight(nn.Module):
    """The latent weight nu_n(z) = prod_{k<=n} c_k r_k(z) of :func:`pull_back`.

    Holds the n step-2 classifiers (their clamped logits are log r_k) and the
    normalisation constants log c_k; ``forward`` gives log nu(z), clamped to
    +-LOGIT_BOUND like a classifier's log-weight, so that this module serves
    wherever a classifier's ``log_weight`` of latent points does.
    """

    def __init__(self, dim: int, config: ClassifierConfig, iterations: int):
        super().__init__()
        self.dim = dim
        self.config = config
        self.iterations = iterations
        self.factors = nn.ModuleList(Classifier(dim, config) for _ in range(iterations))
        self.register_buffer("log_norm", torch.zeros(iterations))

    @property
    def hparams(self) -> dict[str, Any]:
        """Everything `build` needs to rebuild this model."""
        return {
            "kind": "omnifold_latent_weight",
            "dim": self.dim,
            "iterations": self.iterations,
            **asdict(self.config),
        }

    @property
    def latent_dim(self) -> int:
        """L, the columns of z."""
        return self.dim

    def forward(self, z: torch.Tensor, iterations: int | None = None) -> torch.Tensor:
        """log nu_n(z) (N,) of latent points z (N, L), n = ``iterations`` (all)."""
        n = self.iterations if iterations is None else iterations
        out = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)  # (N,)
        for factor, log_c in zip(self.factors[:n], self.log_norm[:n], strict=True):
            out = out + factor.log_weight(z) + log_c
        return out.clamp(-LOGIT_BOUND, LOGIT_BOUND)

    def log_weight(self, z: torch.Tensor) -> torch.Tensor:
        """log nu(z) (N,), as a classifier's ``log_weight``."""
        return self(z)


def build(hparams: dict[str, Any]) -> LatentWeight:
    """Rebuild a LatentWeight from its hparams."""
    hp = dict(hparams)
    if hp.pop("kind", None) != "omnifold_latent_weight":
        raise ValueError(f"not an OmniFold latent weight checkpoint: {hparams}")
    dim, iterations = hp.pop("dim"), hp.pop("iterations")
    return LatentWeight(dim, ClassifierConfig(**hp), iterations)


@dataclass
class OmniFoldResult:
    """What :func:`pull_back` returns.

    Attributes:
        log_nu: log nu(z_i) (M,) float64 of the generated latent points, with
            mean nu = 1 (to the precision of dtype, in which the normalisation
            constants are stored): the latent weights for the refiner.
        log_omega: log omega_n(z_i, x_i) (M,) float64, the last iteration's
            step-1 weights nu_{n-1}(z_i) r_n(x_i) of the pairs (mean 1).
        latent_weight: nu(z) at any latent points (:func:`latent_log_weights`).
        step1: the data-space classifiers, one per iteration.
        table: per-iteration diagnostics, columns ``TABLE_COLUMNS``.
    """

    log_nu: np.ndarray
    log_omega: np.ndarray
    latent_weight: LatentWeight
    step1: list[Classifier]
    table: pd.DataFrame

    @property
    def weights(self) -> np.ndarray:
        """nu(z_i) = exp(log_nu) (M,)."""
        return np.exp(self.log_nu)


def latent_log_weights(
    model: LatentWeight,
    z: np.ndarray,
    iterations: int | None = None,
    batch_size: int = 100_000,
) -> np.ndarray:
    """log nu_n(z) (N,) float64 of latent points z (N, L), n = ``iterations``.

    Each factor's clamped logit is summed in float64 with its normalisation, and
    the sum clamped to +-LOGIT_BOUND: at the generated points this is exactly
    :attr:`OmniFoldResult.log_nu` (n = all iterations).
    """
    n = model.iterations if iterations is None else iterations
    if not 1 <= n <= model.iterations:
        raise ValueError(f"iterations must be in [1, {model.iterations}], got {n}")
    if z.ndim != 2 or z.shape[1] != model.dim:
        raise ValueError(
            f"latent points have shape {z.shape}, expected (N, {model.dim})"
        )
    log_nu = np.zeros(len(z))
    for k in range(n):
        log_c = float(model.log_norm[k])
        log_nu += classifier.logits(model.factors[k], z, batch_size) + log_c
    return np.clip(log_nu, -LOGIT_BOUND, LOGIT_BOUND)


def _check_finite(name: str, a: np.ndarray) -> None:
    """ValueError naming the first row of `a` with a non-finite entry."""
    bad = np.flatnonzero(~np.isfinite(a.reshape(len(a), -1)).all(1))
    if len(bad):
        raise ValueError(f"{name} has a non-finite value at row {bad[0]}: {a[bad[0]]}")


def _normalise(log_w: np.ndarray) -> tuple[np.ndarray, float]:
    """log w shifted so that mean w = 1, and the mean before the shift."""
    log_mean = float(logsumexp(log_w) - np.log(len(log_w)))
    return log_w - log_mean, float(np.exp(log_mean))


def _balanced_bce(
    logit_1: np.ndarray, w_1: np.ndarray, logit_0: np.ndarray, w_0: np.ndarray
) -> float:
    """Weighted BCE at equal class priors: log 2 when the classes are inseparable."""
    loss_1 = np.average(np.logaddexp(0.0, -logit_1), weights=w_1)
    loss_0 = np.average(np.logaddexp(0.0, logit_0), weights=w_0)
    return float(0.5 * (loss_1 + loss_0))


def pull_back(
    z_gen: np.ndarray,
    x_gen: np.ndarray,
    x_data: np.ndarray,
    config: OmniFoldConfig,
    seed: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
) -> OmniFoldResult:
    """OmniFold latent weights nu(z) of a stochastic generator (Sec. 3).

    Iterates step 1 (data space) and step 2 (latent space) as the module
    docstring sets out, ``config.iterations`` times, from nu_0 = 1.

    Args:
        z_gen: latent points of the generated pairs (M, L).
        x_gen: their samples x_i = g(z_i, hidden randomness) (M, D).
        x_data: target samples (N, D).
        config: iterations and the two classifiers' settings.
        seed: seeds every classifier (one derived seed per iteration and step).
        dtype: float32 or float64.
        device: where to train.
        progress: the job's saved progress: each classifier's training saves
            and continues as :func:`laser.training.fit` does, so that a rerun
            skips the classifiers that were trained and continues the one that
            was training.

    Returns:
        The latent weights at z_gen (mean 1), the latent weight function, the
        step-1 classifiers and a table of per-iteration diagnostics: balanced
        weighted BCE of each step (log 2 = classes inseparable), the mean of
        the step-1 and latent weights before normalisation (1 for calibrated
        classifiers), Kish's effective sample size (a fraction), their extremes,
        and nu_change, the rms change of log nu in the iteration.

    Raises:
        ValueError: for mismatched shapes, empty or non-finite inputs (the row
            named), or non-finite weights.
    """
    for name, a in (("z_gen", z_gen), ("x_gen", x_gen), ("x_data", x_data)):
        if a.ndim != 2 or len(a) == 0:
            raise ValueError(
                f"{name} must be a non-empty (rows, columns) array, got {a.shape}"
            )
        _check_finite(name, a)
    if len(z_gen) != len(x_gen):
        raise ValueError(
            f"z_gen has {len(z_gen)} rows but x_gen {len(x_gen)}: "
            "they must be the generated pairs (z_i, x_i)"
        )
    if x_gen.shape[1] != x_data.shape[1]:
        raise ValueError(
            f"x_gen has {x_gen.shape[1]} columns but x_data {x_data.shape[1]}"
        )
    m, n_iter = len(z_gen), config.iterations
    log.info(
        "OmniFold: %d iterations, %d generated pairs (L=%d, D=%d), %d data",
        n_iter,
        m,
        z_gen.shape[1],
        x_gen.shape[1],
        len(x_data),
    )
    latent = LatentWeight(z_gen.shape[1], config.step2, n_iter).to(
        device=device, dtype=dtype
    )
    raw = np.zeros(m)  # sum of the factors' log c_k r_k(z_i), unclamped
    log_nu = np.zeros(m)  # log nu_0 = 0
    log_omega = np.zeros(m)
    step1: list[Classifier] = []
    rows = []
    for it in range(1, n_iter + 1):
        t0 = time.perf_counter()
        nu_prev = np.exp(log_nu)  # (M,)
        # Step 1: data (weight 1) against generated x weighted by nu_{n-1}.
        clf1 = classifier.train(
            x_data,
            x_gen,
            config.step1,
            config.step1_optim,
            derive_seed(seed, "omnifold", it, "step1"),
            dtype,
            device,
            w_gen=nu_prev,
            progress=progress,
        )
        step1.append(clf1)
        log_r1 = classifier.logits(clf1, x_gen)  # (M,)
        loss1 = _balanced_bce(
            classifier.logits(clf1, x_data), np.ones(len(x_data)), log_r1, nu_prev
        )
        log_omega, omega_norm = _normalise(log_nu + log_r1)  # step-1 weights (M,)
        _check_finite(f"step-1 weights (iteration {it})", log_omega)
        omega = np.exp(log_omega)
        # Step 2: the same z weighted by omega_n (label 1) against nu_{n-1} (0).
        clf2 = classifier.train(
            z_gen,
            z_gen,
            config.step2,
            config.step2_optim,
            derive_seed(seed, "omnifold", it, "step2"),
            dtype,
            device,
            w_data=omega,
            w_gen=nu_prev,
            progress=progress,
        )
        log_r2 = classifier.logits(clf2, z_gen)  # (M,)
        loss2 = _balanced_bce(log_r2, omega, log_r2, nu_prev)
        _, nu_norm = _normalise(raw + log_r2)
        latent.factors[it - 1] = clf2
        latent.log_norm[it - 1] = -float(np.log(nu_norm))
        # the constant as stored (in dtype), so that log nu is latent_log_weights
        raw = raw + log_r2 + float(latent.log_norm[it - 1])
        log_new = np.clip(raw, -LOGIT_BOUND, LOGIT_BOUND)
        _check_finite(f"latent weights (iteration {it})", log_new)
        change = float(np.sqrt(np.mean((log_new - log_nu) ** 2)))
        log_nu = log_new
        rows.append(
            {
                "iteration": it,
                "step1_loss": loss1,
                "step2_loss": loss2,
                "omega_norm": omega_norm,
                "omega_ess": kish_ess(log_omega),
                "omega_max": float(omega.max()),
                "nu_norm": nu_norm,
                "nu_ess": kish_ess(log_nu),
                "nu_min": float(np.exp(log_nu.min())),
                "nu_max": float(np.exp(log_nu.max())),
                "nu_change": change,
                "seconds": time.perf_counter() - t0,
            }
        )
        log.info(
            "OmniFold iteration %d/%d: step 1 loss %.5f, step 2 loss %.5f, "
            "step-1 ESS %.4f, latent ESS %.4f, nu in [%.3g, %.3g], rms change of "
            "log nu %.4f (%.1fs)",
            it,
            n_iter,
            loss1,
            loss2,
            rows[-1]["omega_ess"],
            rows[-1]["nu_ess"],
            rows[-1]["nu_min"],
            rows[-1]["nu_max"],
            change,
            rows[-1]["seconds"],
        )
    latent.eval()
    return OmniFoldResult(
        log_nu=log_nu,
        log_omega=log_omega,
        latent_weight=latent,
        step1=step1,
        table=pd.DataFrame(rows, columns=TABLE_COLUMNS),
    )


def weigh(model: LatentWeight, z: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    """The samples (z, x) of the box with their latent weights: ``z``, ``x``,
    ``w`` = nu(z) and ``log_w`` (:func:`latent_log_weights`), as stored."""
    log_w = latent_log_weights(model, z)
    return {"z": z, "x": x, "w": np.exp(log_w), "log_w": log_w}
