"""Rejection sampling of the latent target q(z) = p(z) w(g(z)) / Z0 (Eq. 3).

Proposals z ~ p = N(0, I) are accepted with probability w(g(z)) / M (or, from any
proposal density r, with probability q(z) / (M r(z)): LaSeR's unweighting of its
flow refiner). It is exact, and its draws are independent, where M bounds w; a
classifier weight has no known bound, so M is the largest weight of a pilot set of
proposals (times a safety factor) or a configured number. Proposals with w > M are
accepted with probability 1 instead of w / M: the sample then follows p min(w, M)
instead of p w. The run reports how often that happened and the share of the
target's mass it clips, which bounds the error (total variation <= clipped mass).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from laser.checks import check_int, check_positive
from laser.latent import diagnostics
from laser.latent.integrator import LogProb
from laser.latent.target import LatentSample, Target
from laser.progress import Progress, rng_state, set_rng_state
from laser.seeding import torch_generator

__all__ = [
    "Proposal",
    "RejectionConfig",
    "RejectionResult",
    "rejection_sample",
    "sample_rejection",
]

logger = logging.getLogger(__name__)

#: n, generator -> proposals z (n, D) of a density r and log(r(z) / N(z; 0, I))
#: (n,): where r is not the prior, w is replaced by the ratio N(z) w(z) / r(z).
Proposal = Callable[[int, torch.Generator], tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class RejectionConfig:
    """Settings of the rejection sampler.

    The bound M on the weight is ``bound`` where given; else the largest
    weight among ``pilot`` proposals (or their ``quantile``) times
    ``bound_factor``. A fresh proposal exceeds the largest of n exchangeable pilot
    weights with probability 1 / (n + 1), so with the default factor 1 and a pilot
    of 10^6 about one proposal in a million is clipped (each run reports the
    fraction and the clipped mass); a factor > 1 clips fewer and accepts less.

    Attributes:
        pilot: Proposals whose largest weight sets the bound (>= 1); drawn
            before, and apart from, the proposals of the sample.
        bound_factor: Factor (>= 1) on the pilot's largest weight.
        quantile: The pilot weights' quantile, in (0, 1], that sets the bound
            (1: the largest). Below 1 a fraction of about 1 - quantile of the
            proposals is clipped, which keeps the acceptance rate up where a
            classifier has rare, very large weights in the tails (the result
            reports the clipped mass, which bounds the bias).
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
    quantile: float = 1.0  # the pilot weights' quantile that sets the bound
    bound: float | None = None  # fixed bound on w; None: from the pilot
    chunk_size: int = 100_000  # proposals per call of the weight

    def __post_init__(self) -> None:
        """Validate the fields."""
        check_int("RejectionConfig", "pilot", self.pilot, 1)
        check_positive("RejectionConfig", "bound_factor", self.bound_factor, 1)
        if not 0 < self.quantile <= 1:  # also False for nan
            raise ValueError(
                f"RejectionConfig.quantile must be in (0, 1], got {self.quantile!r}"
            )
        if self.bound is not None:
            check_positive("RejectionConfig", "bound", self.bound)
        check_int("RejectionConfig", "chunk_size", self.chunk_size, 1)


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
        images: g of the samples where log_weight returned them (else None).
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
    images: Tensor | None = None  # (n_samples, D)


def _proposals(
    n: int, dim: int, generator: torch.Generator, dtype: torch.dtype, device
) -> Tensor:
    """``n`` draws of N(0, I) in ``dim`` dimensions, (n, dim)."""
    draw = torch.randn(
        n, dim, generator=generator, dtype=dtype, device=generator.device
    )
    return draw.to(device)


def _log_weights(log_weight: LogProb, z: Tensor) -> tuple[Tensor, Tensor | None]:
    """log w of a chunk (N, D) as float64 (N,), shape checked, and the images
    g(z) (N, .) where log_weight returns (log w, g(z)), else None."""
    with torch.no_grad():
        out = log_weight(z)
    out, images = out if isinstance(out, tuple) else (out, None)
    if out.shape != z.shape[:1]:
        raise ValueError(
            f"log_weight must return shape ({z.shape[0]},), got {tuple(out.shape)}"
        )
    return out.double(), images


def _draw(log_weight, proposal, n, dim, generator, dtype, device):
    """``n`` proposals (n, D), their log ratio log(q / r) + c (n,) float64 and
    their images (or None, :func:`_log_weights`)."""
    if proposal is None:
        z = _proposals(n, dim, generator, dtype, device)
        return z, *_log_weights(log_weight, z)
    with torch.no_grad():
        z, log_r = proposal(n, generator)
    log_w, images = _log_weights(log_weight, z)
    return z, log_w - log_r.double(), images


def rejection_sample(
    log_weight: LogProb,
    dim: int,
    n_samples: int,
    config: RejectionConfig,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
    proposal: Proposal | None = None,
) -> RejectionResult:
    """Draw samples of q(z) = N(z; 0, I) w(z) / Z0 by rejection from the prior
    (or from ``proposal``).

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
        log_weight: log w, (N, D) -> (N,), acting row by row (a non-finite
            value counts as w = 0), or -> (log w, g(z)): the images of the
            accepted rows are then kept (``images`` of the result).
        dim: Dimension D of the latent space.
        n_samples: Number of samples to return (>= 1).
        config: Sampler settings.
        generator: Source of all randomness; the same seed gives the same
            samples bit for bit (on the same machine and build).
        dtype: dtype of the proposals (and the output).
        device: Device of the proposals (and the output).
        progress: the job's saved progress: the samples accepted so far, the
            counters and the generator are saved at its interval (in chunks of
            proposals) and at the end, and a save of the same job is continued
            (the pilot is drawn again: it sets the bound).

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
            n = min(chunk, config.pilot - lo)
            _, log_w, _ = _draw(log_weight, proposal, n, dim, generator, dtype, device)
            finite = log_w[torch.isfinite(log_w)]
            if finite.numel():
                pilot_max_log = max(pilot_max_log, float(finite.max()))
            pilot_log_w.append(finite.cpu())
        if not math.isfinite(pilot_max_log):
            raise ValueError(
                f"no finite weight among the {config.pilot} pilot proposals"
            )
        log_ref = pilot_max_log
        if config.quantile < 1:
            finite = torch.cat(pilot_log_w)  # (n,)
            k = max(1, math.ceil(config.quantile * finite.numel()))
            log_ref = float(finite.kthvalue(k).values)
        log_bound = log_ref + math.log(config.bound_factor)
    else:
        log_bound = math.log(config.bound)
    if not log_bound < 700:  # exp overflows float64 near 709
        raise ValueError(
            f"the bound M on the weight must be finite, got log M = {log_bound}"
        )
    bound = math.exp(log_bound)
    if config.bound is None:
        pilot_max = math.exp(pilot_max_log)  # <= bound where quantile is 1
        # E_p[min(w, M)] / M on the pilot: the acceptance rate to expect
        pilot_w = torch.cat(pilot_log_w).exp().clamp(max=bound)
        expected = float(pilot_w.sum()) / config.pilot / bound
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
        else f"{'largest' if config.quantile == 1 else f'{config.quantile} quantile'}"
        f" of the weights of {config.pilot} pilot proposals (largest "
        f"{pilot_max:.6g}) x {config.bound_factor}",
        dim,
        n_samples,
        chunk,
    )

    kept: list[Tensor] = []
    kept_x: list[Tensor] = []  # images of the accepted proposals, where given
    n_kept = proposals = accepted = clipped = non_finite = calls = 0
    sum_w = sum_excess = 0.0
    max_log_w = -math.inf
    next_log = time.perf_counter() + 30.0
    spent = 0.0  # seconds of the sampling before a resume
    counters = ("proposals", "accepted", "clipped", "non_finite", "sum_w")

    def state() -> dict:
        values = (proposals, accepted, clipped, non_finite, sum_w)
        return {
            "samples": torch.cat(kept),
            "images": torch.cat(kept_x) if kept_x else None,
            **dict(zip(counters, values, strict=True)),
            "sum_excess": sum_excess,
            "max_log_w": max_log_w,
            "rng": rng_state(generator),
            "seconds": spent + time.perf_counter() - sampling,
        }

    progress, sampling = progress or Progress.off(), time.perf_counter()
    with progress.loop("rejection", None) as loop:
        saved = loop.resume()
        if saved is not None:
            calls = saved["done"]
            with loop.restoring():
                kept = [saved["samples"].to(device=device, dtype=dtype)]
                kept_x = [] if saved.get("images") is None else [saved["images"]]
                proposals, accepted, clipped, non_finite, sum_w = (
                    saved[k] for k in counters
                )
                sum_excess, max_log_w = saved["sum_excess"], saved["max_log_w"]
                set_rng_state(saved["rng"], generator)
            n_kept = kept[0].shape[0]
            spent = saved["seconds"]
        while n_kept < n_samples:
            z, log_w, x = _draw(
                log_weight, proposal, chunk, dim, generator, dtype, device
            )
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
            if x is not None:
                kept_x.append(x[take.to(x.device)][: n_samples - n_kept])
            n_kept += new.shape[0]
            if time.perf_counter() > next_log:
                msg = "rejection: %d / %d accepted of %d proposals (rate %.4g)"
                logger.info(msg, n_kept, n_samples, proposals, accepted / proposals)
                next_log = time.perf_counter() + 30.0
            calls += 1
            loop.step(calls, state, final=n_kept >= n_samples)
    samples = torch.cat(kept)  # (n_samples, D)
    images = torch.cat(kept_x) if kept_x else None  # (n_samples, D) or None
    result = RejectionResult(
        samples=samples,
        images=None if images is None or len(images) < len(samples) else images,
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
        seconds=(pilot_seconds, spent + time.perf_counter() - sampling),
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


def sample_rejection(
    config: RejectionConfig,
    target: Target,
    n_samples: int,
    seed: int,
    *,
    dataset: str = "",
    method: str = "rejection",
    progress: Progress | None = None,
    proposal: Proposal | None = None,
) -> LatentSample:
    """The rejection method: z ~ N(0, I) (or ``proposal``'s r) accepted with
    probability w(g(z)) / M (N(z) w(g(z)) / (M r(z))), drawn in the generator's
    dtype and on its device; ``seed`` seeds the pilot, the proposals and the
    accept steps, ``dataset`` and ``method`` name the diagnostics table's row and
    ``progress`` continues an interrupted run.

    Returns:
        z and x = g(z), each (n_samples, D) float32, the table of
        :func:`laser.latent.diagnostics.rejection_table` and the
        :class:`RejectionResult`.
    """
    gen = torch_generator(seed, device=target.device)
    kw = {"dtype": target.dtype, "device": target.device, "proposal": proposal}
    log_w, dim = target.log_weight(images=True), target.dim
    result = rejection_sample(
        log_w, dim, n_samples, config, gen, progress=progress, **kw
    )
    z, x = target.finish(result.samples, result.images)
    table = diagnostics.rejection_table(result, config, dataset, method)
    return LatentSample(z, x, table, result)
