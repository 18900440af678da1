"""Batched Hamiltonian Monte Carlo on the latent target q(z) = p(z) w(g(z)) / Z0
(arXiv:2106.00792, Sec. 3, Eq. 3): the sampler loop and the HMC method."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor

from laser.checks import check_choice, check_int, check_positive
from laser.latent import diagnostics
from laser.latent.adaptation import DualAveraging
from laser.latent.integrator import (
    LogProb,
    chain_state,
    chunked,
    potential_and_grad,
    restore_chains,
)
from laser.latent.kernels import hmc_step, prior_jump
from laser.latent.target import INITS, LatentSample, Target
from laser.progress import Progress, rng_state, set_rng_state
from laser.seeding import torch_generator

__all__ = ["HMCConfig", "HMCResult", "sample", "sample_hmc"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HMCConfig:
    """Settings of the Hamiltonian Monte Carlo sampler.

    The defaults are the paper's: 100 chains advanced together, leapfrog step
    size 0.004, 50 leapfrog steps per trajectory and the first 3000 iterations
    of every chain discarded as burn-in. The mass matrix is the identity.

    Many chains are cheaper per draw than few (one batched network call serves
    them all); ``chunk_size`` caps the rows of one call, above which the cost
    per row grows. Chunking is exact: chains are independent rows. With
    ``adapt_step_size`` the step size is tuned during burn-in by dual averaging
    (Hoffman & Gelman 2014, Alg. 5) towards a mean acceptance probability of
    ``target_accept`` over all chains, starting from ``step_size``, and then
    frozen, so the kept iterations are a valid (Metropolis-adjusted) chain.

    Attributes:
        step_size: Leapfrog step size epsilon (> 0, finite); the starting
            value when adapting.
        n_leapfrog: Leapfrog steps per trajectory (>= 1).
        n_chains: Number of chains advanced together as one batch (>= 1).
        burn_in: Iterations discarded at the start of every chain (>= 0).
        log_every: Iterations between progress lines in the log (>= 1).
        chunk_size: Most rows per call of the log density (>= 1).
        adapt_step_size: Tune the step size during burn-in (off: the
            paper's fixed step).
        target_accept: Mean acceptance probability aimed at when adapting,
            in (0, 1).
        thin: Iterations per kept draw after burn-in (>= 1): a chain keeps
            every thin-th state, which drops most repeated states (rejections).
        restart: After burn-in every chain starts again at its start, with
            the tuned step (starts drawn from the target only): burn-in's
            crossings between modes then do not scatter the starts' shares.
        init: Where the chains of :func:`sample_hmc` start: ``prior`` (z ~
            N(0, I), the paper), ``resample`` or ``systematic`` (prior points
            resampled by their weights, :meth:`laser.latent.target.Target.start`).
        jump_every: After every jump_every-th iteration (burn-in included)
            each chain proposes an independent prior draw and moves there with
            the independence Metropolis probability min(1, w(z') / w(z))
            (:func:`laser.latent.kernels.prior_jump`): chains cross between
            modes; 0 (the paper): HMC steps only.

    Raises:
        ValueError: If a field is out of range; the message names the field.

    References:
        Winterhalder, Bellagente, Nachman, "Latent Space Refinement for
        Deep Generative Models", arXiv:2106.00792, Sec. 4.1.
        R. M. Neal, "MCMC using Hamiltonian dynamics", arXiv:1206.1901.
    """

    step_size: float = 0.004  # leapfrog step epsilon (Sec. 4.1)
    n_leapfrog: int = 50  # leapfrog steps per trajectory
    n_chains: int = 100  # chains advanced together as one batch
    burn_in: int = 3000  # iterations discarded at the start of every chain
    log_every: int = 100  # iterations between progress lines in the log
    chunk_size: int = 10_000  # most rows per call of the log density
    adapt_step_size: bool = False  # dual averaging of the step during burn-in
    target_accept: float = 0.8  # acceptance probability aimed at when adapting
    init: str = "prior"  # chains start at prior points or resampled ones
    thin: int = 1  # iterations per kept draw
    restart: bool = False  # chains start again at their starts after burn-in
    jump_every: int = 0  # iterations per jump from the prior (0: none)

    def __post_init__(self) -> None:
        """Validate the fields."""
        check_positive("HMCConfig", "step_size", self.step_size)
        check_int("HMCConfig", "n_leapfrog", self.n_leapfrog, 1)
        check_int("HMCConfig", "n_chains", self.n_chains, 1)
        check_int("HMCConfig", "burn_in", self.burn_in, 0)
        check_int("HMCConfig", "log_every", self.log_every, 1)
        check_int("HMCConfig", "chunk_size", self.chunk_size, 1)
        check_int("HMCConfig", "thin", self.thin, 1)
        check_int("HMCConfig", "jump_every", self.jump_every, 0)
        for name in ("restart", "adapt_step_size"):
            if not isinstance(value := getattr(self, name), bool):
                raise ValueError(f"HMCConfig.{name} must be a bool, got {value!r}")
        target = self.target_accept
        if (
            isinstance(target, bool)
            or not isinstance(target, (int, float))
            or not (0 < target < 1)
        ):
            msg = f"HMCConfig.target_accept must be a float in (0, 1), got {target!r}"
            raise ValueError(msg)
        check_choice("HMCConfig", "init", self.init, INITS)
        if self.restart and self.init == "prior":
            msg = "HMCConfig.restart needs starts drawn from the target (init "
            raise ValueError(msg + "resample or systematic), not prior points")


@dataclass
class HMCResult:
    """Output of :func:`sample`.

    Attributes:
        samples: Kept draws, shape (n_samples, D), iteration-major: the
            ``n_chains`` rows of the first kept iteration (chain order), then
            those of the second, and so on; the last iteration is truncated
            to its first chains when n_samples is not a multiple of n_chains.
        acceptance_rate: Fraction of accepted proposals over all kept
            iterations and all chains.
        burn_in_acceptance_rate: The same over the burn-in iterations
            (``nan`` when burn_in is 0).
        step_size: The step size of the kept iterations (the adapted one
            when ``adapt_step_size``, else ``config.step_size``).
        seconds: Wall time of the burn-in and of the kept iterations.
        jump_rate: Fraction of accepted jumps from the prior over all
            iterations and chains (``nan`` without jumps).
    """

    samples: Tensor  # (n_samples, D)
    acceptance_rate: float
    burn_in_acceptance_rate: float
    step_size: float = math.nan
    seconds: tuple[float, float] = (math.nan, math.nan)
    jump_rate: float = math.nan


def sample(
    log_prob: LogProb,
    init: Tensor,
    n_samples: int,
    config: HMCConfig,
    generator: torch.Generator,
    progress: Progress | None = None,
) -> HMCResult:
    """Draw samples from q(z) proportional to exp(log_prob(z)) with batched HMC.

    ``config.n_chains`` chains start at the rows of ``init`` and are advanced
    together. The first ``config.burn_in`` iterations are discarded, then
    ``ceil(n_samples / n_chains)`` iterations are kept, giving exactly
    ``n_samples`` rows in iteration-major order. In LaSeR, log_prob(z) is
    -|z|^2 / 2 + log w(g(z)), the latent prior times the refinement weight.

    Args:
        log_prob: Log target density up to a constant, (C, D) -> (C,),
            differentiable by autograd and acting row by row.
        init: Starting points, shape (n_chains, D); dtype and device of the
            output follow it.
        n_samples: Number of samples to return (>= 1).
        config: Sampler settings.
        generator: Source of all randomness; the same seed gives the same
            samples bit for bit (on the same machine and build). It should
            live on ``init``'s device; otherwise draws are made on the
            generator's device and moved.
        progress: the job's saved progress: chains, samples so far, step-size
            adaptation and generator, saved at its interval; a rerun continues.

    Returns:
        An :class:`HMCResult` with samples (n_samples, D) and acceptance rates.

    Raises:
        ValueError: If init is not 2-D, its row count differs from
            config.n_chains, n_samples < 1, or log_prob (or its gradient) is
            not finite at a starting point.

    References:
        arXiv:2106.00792, Sec. 3 (Eq. 3) and Sec. 4.1.
        R. M. Neal, "MCMC using Hamiltonian dynamics", arXiv:1206.1901.
    """
    if init.dim() != 2:
        raise ValueError(f"init must have shape (n_chains, D), got {tuple(init.shape)}")
    n_chains, dim = init.shape
    if n_chains != config.n_chains:
        raise ValueError(
            f"init has {n_chains} rows but config.n_chains is {config.n_chains}"
        )
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be an int >= 1, got {n_samples!r}")

    log_prob = chunked(log_prob, config.chunk_size)
    z = init.detach().clone()  # (C, D)
    u, grad_u = potential_and_grad(log_prob, z)  # (C,), (C, D)
    starts = (z.clone(), u.clone(), grad_u.clone())  # where restart returns them
    bad = ~(torch.isfinite(u) & torch.isfinite(grad_u).all(dim=1))  # (C,)
    if bool(bad.any()):
        idx = torch.nonzero(bad).flatten()[:10].tolist()
        raise ValueError(
            "log_prob or its gradient is not finite at "
            f"{int(bad.sum())} starting point(s), e.g. chains {idx}"
        )

    n_keep = math.ceil(n_samples / n_chains)
    n_total = config.burn_in + n_keep * config.thin
    out = torch.empty((n_samples, dim), dtype=init.dtype, device=init.device)
    burn_accepts, keep_accepts, jumps = torch.zeros(
        3, dtype=torch.long, device=init.device
    )
    adapt = DualAveraging(config.step_size, config.target_accept)
    step = config.step_size
    start = time.perf_counter()
    logger.info(
        "HMC: %d chains, D=%d, %d burn-in + %d x %d kept iterations, step %g x %d%s,"
        " %d rows per call%s",
        n_chains,
        dim,
        config.burn_in,
        n_keep,
        config.thin,
        config.step_size,
        config.n_leapfrog,
        f" (adapted during burn-in to acceptance {config.target_accept})"
        if config.adapt_step_size
        else "",
        min(n_chains, config.chunk_size),
        f", a jump from the prior every {config.jump_every}"
        if config.jump_every
        else "",
    )
    burn_seconds = spent = 0.0  # spent: the seconds before a resume

    def rows(done: int) -> int:  # samples kept after `done` iterations
        return min(n_samples, max(0, done - config.burn_in) // config.thin * n_chains)

    def state(done: int) -> dict:
        return {
            **chain_state(z, u, grad_u, out[: rows(done)]),
            "accepts": torch.stack([burn_accepts, keep_accepts, jumps]),
            "adapt": vars(adapt),
            "step": step,
            "rng": rng_state(generator),
            "seconds": (burn_seconds, spent + time.perf_counter() - start),
        }

    progress = progress or Progress.off()
    with torch.no_grad(), progress.loop("HMC", n_total) as loop:
        saved = loop.resume()
        first = 0 if saved is None else saved["done"]
        if saved is not None:
            with loop.restoring():
                z, u, grad_u = restore_chains(saved, out)
                burn_accepts, keep_accepts, jumps = saved["accepts"].to(init.device)
                vars(adapt).update(saved["adapt"])
                set_rng_state(saved["rng"], generator)
            step, (burn_seconds, spent) = saved["step"], saved["seconds"]
            start = time.perf_counter()
        for it in range(first, n_total):
            if it == config.burn_in:
                burn_seconds = spent + time.perf_counter() - start
                if config.adapt_step_size and config.burn_in:
                    step = adapt.final
                    logger.info("HMC step size adapted to %.5g", step)
                if config.restart:  # back to the starts, with the tuned step
                    z, u, grad_u = (t.clone() for t in starts)
            z, u, grad_u, accepted, prob = hmc_step(
                log_prob, z, u, grad_u, config, generator, step
            )
            if config.jump_every and (it + 1) % config.jump_every == 0:
                z, u, grad_u, jumped = prior_jump(log_prob, z, u, grad_u, generator)
                jumps += jumped.sum()
            if it < config.burn_in:
                burn_accepts += accepted.sum()
                if config.adapt_step_size:
                    step = adapt.update(float(prob.mean()))
            else:
                kept, skip = divmod(it - config.burn_in + 1, config.thin)
                row = (kept - 1) * n_chains
                if not skip:  # the thin-th iteration since the last kept one
                    n_rows = min(n_chains, n_samples - row)
                    out[row : row + n_rows] = z[:n_rows]  # (n_rows, D)
                keep_accepts += accepted.sum()
            done = it + 1
            if done % config.log_every == 0 or done == n_total:
                total = int(burn_accepts + keep_accepts)
                logger.info(
                    "HMC iteration %d/%d (%s): acceptance so far %.4f, step %.5g, "
                    "%.1f s",
                    done,
                    n_total,
                    "burn-in" if it < config.burn_in else "sampling",
                    total / (done * n_chains),
                    step,
                    spent + time.perf_counter() - start,
                )
            loop.step(done, partial(state, done))

    acceptance = int(keep_accepts) / (n_keep * config.thin * n_chains)
    burn_rate = (
        int(burn_accepts) / (config.burn_in * n_chains) if config.burn_in else math.nan
    )
    elapsed = spent + time.perf_counter() - start
    n_jumps = n_total // config.jump_every * n_chains if config.jump_every else 0
    jump_rate = int(jumps) / n_jumps if n_jumps else math.nan
    logger.info(
        "HMC done: %d samples in %.1f s (burn-in %.1f s), acceptance %.4f "
        "(burn-in %.4f), step %.5g%s",
        n_samples,
        elapsed,
        burn_seconds,
        acceptance,
        burn_rate,
        step,
        f", jumps from the prior accepted {jump_rate:.4f}" if n_jumps else "",
    )
    return HMCResult(
        samples=out,
        acceptance_rate=acceptance,
        burn_in_acceptance_rate=burn_rate,
        step_size=step,
        seconds=(burn_seconds, elapsed - burn_seconds),
        jump_rate=jump_rate,
    )


def sample_hmc(
    config: HMCConfig,
    target: Target,
    n_samples: int,
    seed: int,
    *,
    dataset: str = "",
    method: str = "hmc",
    progress: Progress | None = None,
) -> LatentSample:
    """The HMC method: sample q(z) = p(z) w(g(z)) / Z0 by HMC and map through g.

    Chains start at z ~ N(0, I) (``config.init == "prior"``, the paper) or at
    prior points resampled by their weights (``"resample"``), in the
    generator's dtype and on its device; the burn-in is discarded
    (arXiv:2106.00792, Sec. 3 and 4.1). The oracle is this method on an exact
    target (:mod:`laser.latent.oracle`).

    Args:
        config: the sampler's settings.
        target: q(z), from the generator and a weight.
        n_samples: number of samples (>= 1).
        seed: seeds the chains' starts, momenta and accept steps.
        dataset: dataset name, for the diagnostics table.
        method: method name, for the diagnostics table.
        progress: the job's saved progress, to continue interrupted chains.

    Returns:
        z and x = g(z), each (n_samples, D) float32 (iteration-major), the
        health table of :func:`laser.latent.diagnostics.of_run` and the
        :class:`HMCResult`.
    """
    log_prob = target.log_prob()
    gen = torch_generator(seed, device=target.device)
    start = target.start(config.n_chains, gen, config.init)  # (C, D)
    result = sample(log_prob, start, n_samples, config, gen, progress)
    z, x = target.finish(result.samples)
    table = diagnostics.of_run(z, config.n_chains, result, dataset, method)
    return LatentSample(z, x, table, result)
