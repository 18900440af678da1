"""Latent samplers besides HMC: rejection sampling and unadjusted Langevin (ULA).

Both draw from the pulled-back target of LaSeR (arXiv:2106.00792, Sec. 3, Eq. 3),
q(z) = p(z) w(g(z)) / Z0 with p = N(0, I), as alternatives to its HMC:

- **Rejection sampling** proposes z ~ p and accepts it with probability
  w(g(z)) / M. It is exact, and its draws are independent, where M bounds w;
  a classifier weight has no known bound, so M is the largest weight of a
  pilot set of proposals (times a safety factor) or a configured number.
  Proposals with w > M are accepted with probability 1 instead of w / M: the
  sample then follows p min(w, M) instead of p w. The run reports how often
  that happened and the share of the target's mass it clips, which bounds the
  error (total variation <= clipped mass).
- **Unadjusted Langevin** (ULA), as in DDLS (Che et al., "Your GAN is Secretly
  an Energy-based Model and You Should use Discriminator Driven Latent
  Sampling", NeurIPS 2020, arXiv:2003.06060): many chains follow
  z <- z + (eps / 2) grad log q(z) + sqrt(eps) xi, xi ~ N(0, I), with no
  Metropolis correction. Its stationary distribution is **not** q: the bias is
  O(eps). For a Gaussian target N(mu, s^2) the chain's stationary law is
  N(mu, s^2 / (1 - eps / (4 s^2))), a variance too large by the factor
  1 / (1 - eps / (4 s^2)) (and the chain diverges for eps >= 4 s^2); in general
  the total-variation distance to q is O(eps) (Durmus & Moulines, Ann. Appl.
  Probab. 27 (2017) 1551, arXiv:1507.05021).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from laser import diagnostics, mcmc
from laser.flows import transform
from laser.pullback import chain_start, latent_log_prob
from laser.seeding import torch_generator

__all__ = [
    "INITS",
    "RejectionConfig",
    "RejectionResult",
    "LangevinConfig",
    "LangevinResult",
    "rejection_sample",
    "langevin_sample",
    "latent_log_weight",
    "sample_rejection",
    "sample_langevin",
    "rejection_table",
    "langevin_table",
    "REJECTION_COLUMNS",
    "LANGEVIN_COLUMNS",
]

logger = logging.getLogger(__name__)

# a batch of latent points (N, D) -> a log density or log weight (N,)
LogDensity = mcmc.LogProb

#: Where Langevin chains start: prior draws, or prior draws resampled by weight.
INITS = ("prior", "resample")


def _check_int(owner: str, name: str, value: object, minimum: int) -> None:
    """Raise ValueError unless ``value`` is an int (not bool) and >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{owner}.{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}.{name} must be >= {minimum}, got {value}")


def _check_positive(owner: str, name: str, value: object, minimum: float = 0) -> None:
    """Raise ValueError unless ``value`` is a finite number > 0 (>= ``minimum``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{owner}.{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0 and value >= minimum):
        bound = f">= {minimum}" if minimum else "> 0"
        raise ValueError(f"{owner}.{name} must be finite and {bound}, got {value}")


@dataclass(frozen=True)
class RejectionConfig:
    """Settings of the rejection sampler.

    The bound M on the weight is ``bound`` where given; else the largest
    weight among ``pilot`` proposals times ``bound_factor``. A fresh proposal
    exceeds the largest of n exchangeable pilot weights with probability
    1 / (n + 1), so with the default factor 1 and a pilot of 10^6 about one
    proposal in a million is clipped (each run reports the fraction and the
    clipped mass); a factor > 1 clips fewer and accepts proportionally less.

    Attributes:
        pilot: Proposals whose largest weight sets the bound (>= 1); drawn
            before, and apart from, the proposals of the sample.
        bound_factor: Factor (>= 1) on the pilot's largest weight.
        bound: A fixed bound M on w (> 0), or None to take it from the pilot.
        chunk_size: Proposals per call of the weight (>= 1).

    Raises:
        ValueError: If a field is out of range; the message names the field.

    References:
        J. von Neumann, "Various techniques used in connection with random
        digits", NBS Appl. Math. Series 12 (1951) 36.
    """

    pilot: int = 1_000_000  # proposals whose largest weight sets the bound
    bound_factor: float = 1.0  # factor on the pilot's largest weight
    bound: float | None = None  # fixed bound on w; None: from the pilot
    chunk_size: int = 100_000  # proposals per call of the weight

    def __post_init__(self) -> None:
        """Validate the fields."""
        _check_int("RejectionConfig", "pilot", self.pilot, 1)
        _check_positive("RejectionConfig", "bound_factor", self.bound_factor, 1)
        if self.bound is not None:
            _check_positive("RejectionConfig", "bound", self.bound)
        _check_int("RejectionConfig", "chunk_size", self.chunk_size, 1)


@dataclass
class RejectionResult:
    """Output of :func:`rejection_sample`.

    Attributes:
        samples: Accepted proposals, (n_samples, D), in the order drawn.
        bound: The bound M on the weight that was used.
        pilot_max_weight: Largest weight of the pilot (nan with a fixed bound).
        proposals: Proposals drawn for the sample (whole chunks; the pilot
            not included).
        accepted: Proposals accepted among them (>= n_samples: the surplus of
            the last chunk is dropped).
        acceptance_rate: accepted / proposals, an estimate of
            E_p[min(w, M)] / M.
        clipped_fraction: Fraction of the proposals with w > M, accepted with
            probability 1 instead of w / M.
        clipped_mass: Sum of (w - M)_+ over sum of w on the proposals: the
            share of the target's mass lost by clipping, an estimate of an
            upper bound of the total-variation distance between the sample's
            law p min(w, M) / Z and q.
        max_weight: Largest weight among the proposals.
        mean_weight: Mean weight of the proposals, an estimate of E_p[w]
            (about 1 for a density ratio).
        non_finite: Proposals whose log-weight was not finite (never
            accepted).
        seconds: Wall time of the pilot and of the sampling.
    """

    samples: Tensor  # (n_samples, D)
    bound: float
    pilot_max_weight: float
    proposals: int
    accepted: int
    acceptance_rate: float
    clipped_fraction: float
    clipped_mass: float
    max_weight: float
    mean_weight: float
    non_finite: int = 0
    seconds: tuple[float, float] = (math.nan, math.nan)


def _proposals(
    n: int, dim: int, generator: torch.Generator, dtype: torch.dtype, device
) -> Tensor:
    """``n`` draws of N(0, I) in ``dim`` dimensions, (n, dim)."""
    draw = torch.randn(
        n, dim, generator=generator, dtype=dtype, device=generator.device
    )
    return draw.to(device)


def _log_weights(log_weight: LogDensity, z: Tensor) -> Tensor:
    """log w of a chunk (N, D) as float64 (N,); shape checked."""
    with torch.no_grad():
        out = log_weight(z)
    if out.shape != z.shape[:1]:
        raise ValueError(
            f"log_weight must return shape ({z.shape[0]},), got {tuple(out.shape)}"
        )
    return out.double()


def rejection_sample(
    log_weight: LogDensity,
    dim: int,
    n_samples: int,
    config: RejectionConfig,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> RejectionResult:
    """Draw samples of q(z) = N(z; 0, I) w(z) / Z0 by rejection from the prior.

    Proposals z ~ N(0, I) are accepted with probability min(1, w(z) / M), in
    chunks of ``config.chunk_size``, until ``n_samples`` are accepted. Where
    M >= sup w the accepted points are independent draws of q exactly, and
    the acceptance rate is E_p[w] / M. A proposal with w > M is clipped
    (accepted with probability 1): the sample then follows p min(w, M), and
    the result reports the clipped fraction and mass. M is
    ``config.bound`` or, without one, ``config.bound_factor`` times the
    largest weight among ``config.pilot`` proposals drawn first (not part of
    the sample).

    Args:
        log_weight: log w, (N, D) -> (N,), acting row by row; a non-finite
            value counts as w = 0.
        dim: Dimension D of the latent space.
        n_samples: Number of samples to return (>= 1).
        config: Sampler settings.
        generator: Source of all randomness; the same seed gives the same
            samples bit for bit (on the same machine and build).
        dtype: dtype of the proposals (and the output).
        device: Device of the proposals (and the output).

    Returns:
        A :class:`RejectionResult` with samples (n_samples, D).

    Raises:
        ValueError: If n_samples < 1, log_weight returns a wrong shape, or
            the bound is not a finite positive number (no finite pilot
            weight).

    References:
        arXiv:2106.00792, Sec. 3 (Eq. 3): the target.
        J. von Neumann (1951): rejection sampling.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be an int >= 1, got {n_samples!r}")
    chunk = config.chunk_size
    start = time.perf_counter()
    pilot_max = math.nan
    if config.bound is None:
        pilot_max_log = -math.inf
        pilot_log_w = []
        for lo in range(0, config.pilot, chunk):
            z = _proposals(min(chunk, config.pilot - lo), dim, generator, dtype, device)
            log_w = _log_weights(log_weight, z)  # (N,)
            finite = log_w[torch.isfinite(log_w)]
            if finite.numel():
                pilot_max_log = max(pilot_max_log, float(finite.max()))
            pilot_log_w.append(finite.cpu())
        if not math.isfinite(pilot_max_log):
            raise ValueError(
                f"no finite weight among the {config.pilot} pilot proposals"
            )
        log_bound = pilot_max_log + math.log(config.bound_factor)
    else:
        log_bound = math.log(config.bound)
    if not log_bound < 700:  # exp overflows float64 near 709
        raise ValueError(
            f"the bound M on the weight must be finite, got log M = {log_bound}"
        )
    bound = math.exp(log_bound)
    if config.bound is None:
        pilot_max = math.exp(pilot_max_log)  # <= bound: bound_factor >= 1
        # E_p[w] / M on the pilot: the acceptance rate to expect
        expected = float(torch.cat(pilot_log_w).exp().sum()) / config.pilot / bound
        logger.info(
            "rejection: expected acceptance %.4g from the pilot: about %.3g "
            "proposals for %d samples",
            expected,
            n_samples / max(expected, 1e-300),
            n_samples,
        )
    pilot_seconds = time.perf_counter() - start
    logger.info(
        "rejection: bound M = %.6g (%s), D=%d, %d samples, %d proposals per call",
        bound,
        "fixed"
        if config.bound is not None
        else f"largest weight {pilot_max:.6g} of {config.pilot} pilot proposals "
        f"x {config.bound_factor}",
        dim,
        n_samples,
        chunk,
    )

    kept: list[Tensor] = []
    n_kept = proposals = accepted = clipped = non_finite = 0
    sum_w = sum_excess = 0.0
    max_log_w = -math.inf
    next_log = time.perf_counter() + 30.0
    while n_kept < n_samples:
        z = _proposals(chunk, dim, generator, dtype, device)  # (N, D)
        log_w = _log_weights(log_weight, z)  # (N,)
        u = torch.rand(
            chunk, generator=generator, dtype=torch.float64, device=generator.device
        ).to(log_w.device)  # (N,)
        finite = torch.isfinite(log_w)  # (N,)
        log_w = torch.where(finite, log_w, torch.full_like(log_w, -math.inf))
        # accept with probability min(1, w / M); a NaN or -inf weight never
        ratio = torch.exp(log_w - log_bound)  # (N,) w / M, inf where it overflows
        take = u < ratio  # (N,)
        proposals += chunk
        accepted += int(take.sum())
        clipped += int((log_w > log_bound).sum())
        non_finite += int((~finite).sum())
        w = torch.exp(log_w)  # (N,)
        sum_w += float(w.sum())
        sum_excess += float((w - bound).clamp(min=0).sum())
        max_log_w = max(max_log_w, float(log_w.max()))
        new = z[take.to(z.device)][: n_samples - n_kept]
        kept.append(new)
        n_kept += new.shape[0]
        if time.perf_counter() > next_log:
            logger.info(
                "rejection: %d / %d accepted of %d proposals (rate %.4g)",
                n_kept,
                n_samples,
                proposals,
                accepted / proposals,
            )
            next_log = time.perf_counter() + 30.0
    samples = torch.cat(kept)  # (n_samples, D)
    result = RejectionResult(
        samples=samples,
        bound=bound,
        pilot_max_weight=pilot_max,
        proposals=proposals,
        accepted=accepted,
        acceptance_rate=accepted / proposals,
        clipped_fraction=clipped / proposals,
        clipped_mass=sum_excess / sum_w if sum_w > 0 else math.nan,
        max_weight=math.exp(max_log_w) if max_log_w < 709 else math.inf,
        mean_weight=sum_w / proposals,
        non_finite=non_finite,
        seconds=(pilot_seconds, time.perf_counter() - start - pilot_seconds),
    )
    logger.info(
        "rejection: acceptance %.4g (%d of %d proposals), %d (%.3g) clipped at "
        "w > M = %.6g, clipped mass %.3g, largest weight %.6g, mean weight %.4g, "
        "%.1f s",
        result.acceptance_rate,
        accepted,
        proposals,
        clipped,
        result.clipped_fraction,
        bound,
        result.clipped_mass,
        result.max_weight,
        result.mean_weight,
        sum(result.seconds),
    )
    if non_finite:
        logger.warning("rejection: %d proposals had a non-finite weight", non_finite)
    return result


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
        init: Where chains start: ``prior`` (z ~ N(0, I)) or ``resample``
            (prior points resampled by their weights,
            :func:`laser.pullback.resampled_init`); used by
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
        _check_positive("LangevinConfig", "step_size", self.step_size)
        _check_int("LangevinConfig", "n_chains", self.n_chains, 1)
        _check_int("LangevinConfig", "n_steps", self.n_steps, 0)
        _check_int("LangevinConfig", "thin", self.thin, 1)
        _check_int("LangevinConfig", "chunk_size", self.chunk_size, 1)
        _check_int("LangevinConfig", "log_every", self.log_every, 1)
        if self.init not in INITS:
            raise ValueError(
                f"LangevinConfig.init must be one of {list(INITS)}, got {self.init!r}"
            )


@dataclass
class LangevinResult:
    """Output of :func:`langevin_sample`.

    Attributes:
        samples: Kept positions, (n_samples, D), iteration-major as
            :class:`laser.mcmc.HMCResult`: all chains' positions after step
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
    log_prob: LogDensity,
    init: Tensor,
    n_samples: int,
    config: LangevinConfig,
    generator: torch.Generator,
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
    log_prob = mcmc.chunked(log_prob, config.chunk_size)
    z = init.detach().clone()  # (C, D)
    u, grad_u = mcmc.potential_and_grad(log_prob, z)  # (C,), (C, D)
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
    burn_seconds = 0.0
    with torch.no_grad():
        for step in range(1, n_total + 1):
            xi = torch.randn(
                z.shape, generator=generator, dtype=z.dtype, device=generator.device
            ).to(z.device)  # (C, D)
            # grad log q = -grad U
            z = z - 0.5 * eps * grad_u + noise_scale * xi  # (C, D)
            u, grad_u = mcmc.potential_and_grad(log_prob, z)  # (C,), (C, D)
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
                burn_seconds = time.perf_counter() - start
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
                    time.perf_counter() - start,
                )
    seconds = time.perf_counter() - start
    return LangevinResult(
        samples=out,
        step_size=eps,
        n_chains=n_chains,
        n_steps=config.n_steps,
        thin=config.thin,
        steps=n_total,
        seconds=(burn_seconds, seconds - burn_seconds),
    )


def latent_log_weight(flow: nn.Module, classifier) -> LogDensity:
    """log w(g(z)) of latent points (N, D) -> (N,): the pulled-back weight
    (arXiv:2106.00792, Sec. 3), without gradients."""

    def log_weight(z: Tensor) -> Tensor:
        with torch.no_grad():
            return classifier.log_weight(flow.generate(z))

    return log_weight


def _finish(flow: nn.Module, z: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """z as stored (float32) and x = g of exactly that z, each (N, D) float32."""
    z32 = z.detach().cpu().numpy().astype(np.float32)
    return z32, transform(flow, z32)


def sample_rejection(
    flow: nn.Module,
    classifier,
    n_samples: int,
    config: RejectionConfig,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, RejectionResult]:
    """The rejection method: z ~ N(0, I) accepted with probability w(g(z)) / M.

    ``classifier`` is anything with ``log_weight(x)`` (the classifier, or an
    exact weight). Proposals are drawn in the flow's dtype and on its device.

    Returns:
        (z, x, result): accepted latent points and their images g(z), each
        (n_samples, D) float32, and the sampler's result.
    """
    param = next(flow.parameters())
    gen = torch_generator(seed, device=param.device)
    result = rejection_sample(
        latent_log_weight(flow, classifier),
        flow.latent_dim,
        n_samples,
        config,
        gen,
        dtype=param.dtype,
        device=param.device,
    )
    return (*_finish(flow, result.samples), result)


def sample_langevin(
    flow: nn.Module,
    classifier,
    n_samples: int,
    config: LangevinConfig,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, LangevinResult]:
    """The Langevin method: ULA on log q(z) = -|z|^2 / 2 + log w(g(z)), mapped
    through g.

    Chains start at z ~ N(0, I) (``config.init == "prior"``) or at prior
    points resampled by their weights (``"resample"``,
    :func:`laser.pullback.resampled_init`), in the flow's dtype and device.

    Returns:
        (z, x, result): kept latent positions and their images g(z), each
        (n_samples, D) float32 (iteration-major), and the sampler's result.
    """
    param = next(flow.parameters())
    gen = torch_generator(seed, device=param.device)
    start = chain_start(flow, classifier, config.n_chains, gen, config.init)
    log_prob = latent_log_prob(flow, classifier)
    result = langevin_sample(log_prob, start, n_samples, config, gen)
    return (*_finish(flow, result.samples), result)


#: Columns of the rejection sampler's diagnostics table (one row).
REJECTION_COLUMNS = [
    "dataset",
    "method",
    "samples",
    "proposals",
    "accepted",
    "acceptance_rate",
    "bound",
    "bound_source",
    "pilot",
    "bound_factor",
    "pilot_max_weight",
    "clipped_fraction",
    "clipped_mass",
    "max_weight",
    "mean_weight",
    "non_finite",
]


def rejection_table(
    result: RejectionResult,
    config: RejectionConfig,
    dataset: str,
    method: str = "rejection",
) -> pd.DataFrame:
    """The diagnostics table of one rejection run (one row); a clipped bound is
    logged as a warning.

    Columns :data:`REJECTION_COLUMNS`: the bound M and where it came from
    (``pilot``: ``bound_factor`` times the largest of ``pilot`` weights;
    ``fixed``: the configured bound), proposals and acceptance rate, and the
    bias of the bound: the fraction of proposals with w > M (clipped) and the
    clipped share of the target's mass.
    """
    fixed = config.bound is not None
    row = {
        "dataset": dataset,
        "method": method,
        "samples": result.samples.shape[0],
        "proposals": result.proposals,
        "accepted": result.accepted,
        "acceptance_rate": result.acceptance_rate,
        "bound": result.bound,
        "bound_source": "fixed" if fixed else "pilot",
        "pilot": 0 if fixed else config.pilot,
        "bound_factor": math.nan if fixed else config.bound_factor,
        "pilot_max_weight": result.pilot_max_weight,
        "clipped_fraction": result.clipped_fraction,
        "clipped_mass": result.clipped_mass,
        "max_weight": result.max_weight,
        "mean_weight": result.mean_weight,
        "non_finite": result.non_finite,
    }
    if result.clipped_fraction > 0:
        logger.warning(
            "REJECTION BOUND: %s/%s: %.3g of the proposals had w > M = %.6g and "
            "were accepted with probability 1 instead of w / M: the sample follows "
            "p min(w, M), off q by at most %.3g (clipped mass) in total variation "
            "(raise rejection.bound_factor or rejection.pilot to clip less)",
            dataset,
            method,
            result.clipped_fraction,
            result.bound,
            result.clipped_mass,
        )
    return pd.DataFrame([row], columns=REJECTION_COLUMNS)


#: Columns of the Langevin sampler's diagnostics table, one row per latent dimension.
#: HMC's (:data:`laser.diagnostics.COLUMNS`) without the acceptance rates, which
#: ULA does not have, and with its schedule.
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
    positions (:mod:`laser.diagnostics`); they say whether the chains agree
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
