"""Unadjusted Langevin (ULA) on the latent target q(z) = p(z) w(g(z)) / Z0 (Eq. 3).

As in DDLS (Che et al., "Your GAN is Secretly an Energy-based Model and You Should
use Discriminator Driven Latent Sampling", NeurIPS 2020, arXiv:2003.06060): many
chains follow z <- z + (eps / 2) grad log q(z) + sqrt(eps) xi, xi ~ N(0, I), with no
Metropolis correction. Its stationary distribution is **not** q: the bias is
O(eps). For a Gaussian target N(mu, s^2) the chain's stationary law is
N(mu, s^2 / (1 - eps / (4 s^2))), a variance too large by the factor
1 / (1 - eps / (4 s^2)) (and the chain diverges for eps >= 4 s^2); in general the
total-variation distance to q is O(eps) (Durmus & Moulines, Ann. Appl. Probab. 27
(2017) 1551, arXiv:1507.05021).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from laser.checks import check_choice, check_int, check_positive
from laser.latent import diagnostics
from laser.latent.integrator import (
    LogProb,
    chain_state,
    chunked,
    potential_and_grad,
    restore_chains,
)
from laser.latent.target import INITS, LatentSample, Target
from laser.progress import Progress, rng_state, set_rng_state
from laser.seeding import torch_generator

__all__ = [
    "LangevinConfig",
    "LangevinResult",
    "langevin_sample",
    "sample_langevin",
    "langevin_table",
    "LANGEVIN_COLUMNS",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LangevinConfig:
    """Settings of the unadjusted Langevin sampler (ULA, as DDLS).

    Every chain takes the steps z <- z + (eps / 2) grad log q(z) + sqrt(eps) xi,
    xi ~ N(0, I), with no Metropolis correction, so the draws follow q only up
    to an O(eps) bias (module docstring). The first ``n_steps`` steps of every
    chain are discarded; then every ``thin``-th position of every chain is kept
    until ``n_samples`` are collected. One step costs one gradient, as one
    leapfrog step of HMC; ULA with step eps moves like one leapfrog step of
    size sqrt(eps) with fresh momenta.

    Attributes:
        step_size: eps (> 0, finite).
        n_chains: Chains advanced together as one batch (>= 1).
        n_steps: Burn-in steps discarded at the start of every chain (>= 0).
        thin: Steps between kept positions of a chain (>= 1).
        chunk_size: Most rows per call of the log density (>= 1).
        init: Where chains start: ``prior`` (z ~ N(0, I)), ``resample`` or
            ``systematic`` (prior points resampled by their weights,
            :func:`laser.latent.target.chain_start`); used by
            :func:`sample_langevin` only.
        log_every: Steps between progress lines in the log (>= 1).

    Raises:
        ValueError: If a field is out of range; the message names the field.

    References:
        T. Che et al., arXiv:2003.06060, Sec. 3 (DDLS).
        G. O. Roberts, R. L. Tweedie, "Exponential convergence of Langevin
        distributions and their discrete approximations", Bernoulli 2 (1996)
        341.
    """

    step_size: float = 0.0025  # eps of z + eps/2 grad log q + sqrt(eps) xi
    n_chains: int = 10_000  # chains advanced together as one batch
    n_steps: int = 1000  # burn-in steps discarded at the start of every chain
    thin: int = 10  # steps between kept positions of a chain
    chunk_size: int = 10_000  # most rows per call of the log density
    init: str = "resample"  # chains start at prior or resampled prior points
    log_every: int = 500  # steps between progress lines in the log

    def __post_init__(self) -> None:
        """Validate the fields."""
        check_positive("LangevinConfig", "step_size", self.step_size)
        check_int("LangevinConfig", "n_chains", self.n_chains, 1)
        check_int("LangevinConfig", "n_steps", self.n_steps, 0)
        check_int("LangevinConfig", "thin", self.thin, 1)
        check_int("LangevinConfig", "chunk_size", self.chunk_size, 1)
        check_int("LangevinConfig", "log_every", self.log_every, 1)
        check_choice("LangevinConfig", "init", self.init, INITS)


@dataclass
class LangevinResult:
    """Output of :func:`langevin_sample`.

    Attributes:
        samples: Kept positions, (n_samples, D), iteration-major as
            :class:`laser.latent.hmc.HMCResult`: all chains' positions after step
            n_steps + thin, then after n_steps + 2 thin, and so on; the last
            kept iteration is truncated to its first chains.
        step_size: eps.
        n_chains: Chains of the run.
        n_steps: Burn-in steps of every chain.
        thin: Steps between kept positions.
        steps: Steps taken by every chain, burn-in included.
        seconds: Wall time of the burn-in and of the kept steps.
    """

    samples: Tensor  # (n_samples, D)
    step_size: float
    n_chains: int
    n_steps: int
    thin: int
    steps: int
    seconds: tuple[float, float] = (math.nan, math.nan)


def _diverged(u: Tensor, grad_u: Tensor, z: Tensor) -> Tensor:
    """Rows (C,) where the state, log q or its gradient is not finite."""
    return ~(
        torch.isfinite(u) & torch.isfinite(grad_u).all(dim=1) & torch.isfinite(z).all(1)
    )


def langevin_sample(
    log_prob: LogProb,
    init: Tensor,
    n_samples: int,
    config: LangevinConfig,
    generator: torch.Generator,
    progress: Progress | None = None,
) -> LangevinResult:
    """Draw approximate samples of q(z) ~ exp(log_prob(z)) by unadjusted Langevin.

    ``config.n_chains`` chains start at the rows of ``init`` and all take
    z_{t+1} = z_t + (eps / 2) grad log q(z_t) + sqrt(eps) xi_t, xi_t ~ N(0, I),
    with no accept/reject step (DDLS, arXiv:2003.06060, Sec. 3, with the
    latent prior and the classifier weight as energy). After
    ``config.n_steps`` burn-in steps every ``config.thin``-th position of every
    chain is kept until ``n_samples`` are collected.

    The draws are biased: ULA's stationary law differs from q by O(eps). For
    a Gaussian target N(mu, Sigma) it is N(mu, Sigma (I - eps Sigma^-1 / 4)^-1):
    in a direction of variance s^2 the variance is s^2 / (1 - eps / (4 s^2)),
    and the chains diverge for eps >= 4 s^2.

    Args:
        log_prob: Log target density up to a constant, (C, D) -> (C,),
            differentiable by autograd and acting row by row.
        init: Starting points, (n_chains, D); dtype and device of the output
            follow it.
        n_samples: Number of samples to return (>= 1).
        config: Sampler settings (``init`` is not used here).
        generator: Source of all randomness; the same seed gives the same
            samples bit for bit (on the same machine and build).
        progress: the job's saved progress: the chains, the samples so far and
            the generator are saved at its interval and at the end, and a save
            of the same job is continued.

    Returns:
        A :class:`LangevinResult` with samples (n_samples, D).

    Raises:
        ValueError: If init is not (n_chains, D), n_samples < 1 or log_prob
            (or its gradient) is not finite at a starting point.
        FloatingPointError: If a chain diverges (non-finite position, log q
            or gradient): the step is too large for the target.

    References:
        T. Che et al., arXiv:2003.06060, Sec. 3.
        A. Durmus, E. Moulines, arXiv:1507.05021 (the O(eps) bias).
    """
    if init.dim() != 2 or init.shape[0] != config.n_chains:
        raise ValueError(
            f"init must have shape ({config.n_chains}, D), got {tuple(init.shape)}"
        )
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be an int >= 1, got {n_samples!r}")
    n_chains, dim = init.shape
    eps = config.step_size
    noise_scale = math.sqrt(eps)
    log_prob = chunked(log_prob, config.chunk_size)
    z = init.detach().clone()  # (C, D)
    u, grad_u = potential_and_grad(log_prob, z)  # (C,), (C, D)
    bad = _diverged(u, grad_u, z)
    if bool(bad.any()):
        idx = torch.nonzero(bad).flatten()[:10].tolist()
        raise ValueError(
            "log_prob or its gradient is not finite at "
            f"{int(bad.sum())} starting point(s), e.g. chains {idx}"
        )
    n_keep = math.ceil(n_samples / n_chains)
    n_total = config.n_steps + n_keep * config.thin
    out = torch.empty((n_samples, dim), dtype=init.dtype, device=init.device)
    logger.info(
        "Langevin (unadjusted): %d chains, D=%d, step %g, %d burn-in + %d x %d "
        "kept steps, %d rows per call",
        n_chains,
        dim,
        eps,
        config.n_steps,
        n_keep,
        config.thin,
        min(n_chains, config.chunk_size),
    )
    start = time.perf_counter()
    burn_seconds = spent = 0.0

    def rows(done: int) -> int:  # samples kept after `done` steps
        return min(n_samples, max(0, done - config.n_steps) // config.thin * n_chains)

    def state(done: int) -> dict:
        return {
            **chain_state(z, u, grad_u, out[: rows(done)]),
            "rng": rng_state(generator),
            "seconds": (burn_seconds, spent + time.perf_counter() - start),
        }

    progress = progress or Progress.off()
    with torch.no_grad(), progress.loop("Langevin", n_total) as loop:
        saved = loop.resume()
        first = 1
        if saved is not None:
            first = saved["done"] + 1
            with loop.restoring():
                z, u, grad_u = restore_chains(saved, out)
                set_rng_state(saved["rng"], generator)
            burn_seconds, spent = saved["seconds"]
            start = time.perf_counter()
        for step in range(first, n_total + 1):
            xi = torch.randn(
                z.shape, generator=generator, dtype=z.dtype, device=generator.device
            ).to(z.device)  # (C, D)
            # grad log q = -grad U
            z = z - 0.5 * eps * grad_u + noise_scale * xi  # (C, D)
            u, grad_u = potential_and_grad(log_prob, z)  # (C,), (C, D)
            bad = _diverged(u, grad_u, z)
            if bool(bad.any()):
                raise FloatingPointError(
                    f"Langevin: {int(bad.sum())} of {n_chains} chains diverged at "
                    f"step {step} (non-finite position, log q or gradient): the "
                    f"step size {eps:g} is too large for this target (unadjusted "
                    "Langevin is unstable where eps exceeds about 4 s^2 in a "
                    "direction of width s)"
                )
            if step == config.n_steps:
                burn_seconds = spent + time.perf_counter() - start
            kept = step - config.n_steps
            if kept > 0 and kept % config.thin == 0:
                row = (kept // config.thin - 1) * n_chains
                take = min(n_chains, n_samples - row)
                out[row : row + take] = z[:take]
            if step % config.log_every == 0 or step == n_total:
                logger.info(
                    "Langevin step %d/%d, mean log q %.4g, %.1f s",
                    step,
                    n_total,
                    float(-u.mean()),
                    spent + time.perf_counter() - start,
                )
            loop.step(step, partial(state, step))
    seconds = spent + time.perf_counter() - start
    return LangevinResult(
        samples=out,
        step_size=eps,
        n_chains=n_chains,
        n_steps=config.n_steps,
        thin=config.thin,
        steps=n_total,
        seconds=(burn_seconds, seconds - burn_seconds),
    )


LANGEVIN_COLUMNS = [
    c for c in diagnostics.COLUMNS if not c.endswith("acceptance_rate")
] + ["burn_in_steps", "thin", "init"]


def langevin_table(
    samples: np.ndarray,
    result: LangevinResult,
    init: str,
    dataset: str,
    method: str = "langevin",
) -> pd.DataFrame:
    """The diagnostics table of one Langevin run, one row per latent dimension;
    chains that have not mixed are logged as a warning.

    R-hat and bulk/tail ESS are ArviZ's rank-normalised ones over the kept
    positions (:mod:`laser.latent.diagnostics`); they say whether the chains agree
    with each other, not whether they follow q: ULA's O(step_size) bias is
    invisible to them.

    Args:
        samples: the kept positions (N, D), iteration-major.
        result: the sampler's result.
        init: where the chains started (``prior`` or ``resample``).
        dataset: dataset name.
        method: method name.
    """
    table = diagnostics.hmc_table(
        samples, result.n_chains, math.nan, math.nan, result.step_size, dataset, method
    )
    table = table.assign(burn_in_steps=result.n_steps, thin=result.thin, init=init)
    for row in table.itertuples():
        if math.isnan(row.rhat) or row.rhat > diagnostics.RHAT_MAX:
            logger.warning(
                "LANGEVIN HEALTH: %s/%s: R-hat of z%d is %.4g (> %s or not "
                "computed): the chains have not mixed (more langevin.n_steps, "
                "langevin.init: resample, more kept steps per chain)",
                dataset,
                method,
                row.dim,
                row.rhat,
                diagnostics.RHAT_MAX,
            )
    return table[LANGEVIN_COLUMNS]


def sample_langevin(
    config: LangevinConfig,
    target: Target,
    n_samples: int,
    seed: int,
    *,
    dataset: str = "",
    method: str = "langevin",
    progress: Progress | None = None,
) -> LatentSample:
    """The Langevin method: ULA on log q(z) = -|z|^2 / 2 + log w(g(z)), mapped
    through g.

    Chains start at z ~ N(0, I) (``config.init == "prior"``) or at prior
    points resampled by their weights (``"resample"``), in the generator's
    dtype and on its device.

    Args:
        config: the sampler's settings.
        target: q(z), from the generator and a weight.
        n_samples: number of samples (>= 1).
        seed: seeds the chains' starts and the noise.
        dataset: dataset name, for the diagnostics table.
        method: method name, for the diagnostics table.
        progress: the job's saved progress, to continue interrupted chains.

    Returns:
        z and x = g(z), each (n_samples, D) float32 (iteration-major), the
        table of :func:`langevin_table` and the :class:`LangevinResult`.
    """
    gen = torch_generator(seed, device=target.device)
    start = target.start(config.n_chains, gen, config.init)  # (C, D)
    result = langevin_sample(target.log_prob(), start, n_samples, config, gen, progress)
    z, x = target.finish(result.samples)
    table = langevin_table(z, result, config.init, dataset, method)
    return LatentSample(z, x, table, result)
