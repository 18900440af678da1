"""Health of the latent samplers: for HMC acceptance, R-hat and bulk/tail ESS per
latent dimension; for rejection sampling the bound and what it clips.

The HMC method of LaSeR (arXiv:2106.00792, Sec. 3 and 4.1) is only as good as
its chains. This module turns a sampler's output into a diagnostics table and
the warnings a user must see: split R-hat above 1.01 (chains disagree: not
converged, or stuck in different modes) and an acceptance rate outside a sane
band (below 0.3 most trajectories are wasted; above 0.99 the step is far
smaller than it needs to be, valid but slow). R-hat and ESS are ArviZ's
rank-normalised versions (Vehtari, Gelman, Simpson, Carpenter, Buerkner,
"Rank-normalization, folding, and localization: an improved R-hat",
Bayesian Analysis 16 (2021) 667, arXiv:1903.08008).
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the samplers' results; hmc and rejection import this module
    from laser.latent.hmc import HMCResult
    from laser.latent.rejection import RejectionConfig, RejectionResult

__all__ = [
    "ACCEPTANCE_BAND",
    "COLUMNS",
    "REJECTION_COLUMNS",
    "RHAT_MAX",
    "chains",
    "hmc_table",
    "of_run",
    "problems",
    "rejection_table",
    "report",
]

log = logging.getLogger(__name__)

#: Largest acceptable split R-hat (Vehtari et al. 2021).
RHAT_MAX = 1.01
#: Acceptance rates outside this band are reported.
ACCEPTANCE_BAND = (0.3, 0.99)
#: Columns of the diagnostics table, one row per latent dimension.
COLUMNS = [
    "dataset",
    "method",
    "dim",
    "rhat",
    "ess_bulk",
    "ess_tail",
    "draws",
    "chains",
    "acceptance_rate",
    "burn_in_acceptance_rate",
    "step_size",
    "jump_rate",
]


def chains(samples: np.ndarray, n_chains: int) -> np.ndarray:
    """Iteration-major samples (N, D) as (chains, draws, D).

    A last, partial iteration (N not a multiple of n_chains) is left out.
    """
    samples = np.asarray(samples)
    if samples.ndim != 2:
        raise ValueError(f"samples must be (N, D), got shape {samples.shape}")
    draws = samples.shape[0] // n_chains
    kept = samples[: draws * n_chains].reshape(draws, n_chains, samples.shape[1])
    return kept.transpose(1, 0, 2)  # (chains, draws, D)


def _rhat_ess(per_chain: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split R-hat, bulk ESS and tail ESS per dimension of (chains, draws, D)."""
    dim = per_chain.shape[2]
    nan = np.full(dim, math.nan)
    if per_chain.shape[1] < 4:  # too short to split and rank
        return nan, nan.copy(), nan.copy()
    import arviz as az  # slow import (xarray); only where needed

    data = az.convert_to_dataset(per_chain.astype(np.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ's notes on its coming refactor
        rhat = np.asarray(az.rhat(data)["x"].values)
        bulk = np.asarray(az.ess(data, method="bulk")["x"].values)
        tail = np.asarray(az.ess(data, method="tail")["x"].values)
    return rhat, bulk, tail


def hmc_table(
    samples: np.ndarray,
    n_chains: int,
    acceptance_rate: float,
    burn_in_acceptance_rate: float,
    step_size: float,
    dataset: str,
    method: str = "hmc",
    jump_rate: float = math.nan,
) -> pd.DataFrame:
    """The diagnostics table of one HMC run, one row per latent dimension.

    Args:
        samples: kept draws (N, D) in iteration-major order
            (:class:`laser.latent.hmc.HMCResult`).
        n_chains: chains of the run.
        acceptance_rate: over the kept iterations.
        burn_in_acceptance_rate: over the burn-in (nan without burn-in).
        step_size: leapfrog step of the kept iterations.
        dataset: dataset name (a column).
        method: method name (a column).
        jump_rate: acceptance of the jumps from the prior (nan without).

    Returns:
        A table with columns :data:`COLUMNS`; R-hat and ESS are nan when a
        chain has fewer than 4 draws.
    """
    per_chain = chains(samples, n_chains)
    rhat, bulk, tail = _rhat_ess(per_chain)
    return pd.DataFrame(
        {
            "dataset": dataset,
            "method": method,
            "dim": np.arange(per_chain.shape[2]),
            "rhat": rhat,
            "ess_bulk": bulk,
            "ess_tail": tail,
            "draws": per_chain.shape[0] * per_chain.shape[1],
            "chains": per_chain.shape[0],
            "acceptance_rate": acceptance_rate,
            "burn_in_acceptance_rate": burn_in_acceptance_rate,
            "step_size": step_size,
            "jump_rate": jump_rate,
        },
        columns=COLUMNS,
    )


def problems(table: pd.DataFrame) -> list[str]:
    """Human-readable problems of a diagnostics table (empty when healthy)."""
    out = []
    for row in table.itertuples():
        if math.isnan(row.rhat):
            out.append(
                f"{row.dataset}/{row.method}: R-hat of z{row.dim} not computed "
                f"({row.draws // row.chains} draws per chain; 4 or more needed)"
            )
        elif row.rhat > RHAT_MAX:
            out.append(
                f"{row.dataset}/{row.method}: R-hat of z{row.dim} is "
                f"{row.rhat:.4f} > {RHAT_MAX}: the chains have not mixed (longer "
                "burn-in, more iterations, hmc.init: resample, or a larger step)"
            )
    acc = float(table["acceptance_rate"].iloc[0])
    lo, hi = ACCEPTANCE_BAND
    name = f"{table['dataset'].iloc[0]}/{table['method'].iloc[0]}"
    if acc < lo:
        out.append(
            f"{name}: acceptance rate {acc:.3f} < {lo}: most trajectories are "
            "rejected (smaller hmc.step_size, or hmc.adapt_step_size: true)"
        )
    elif acc > hi:
        out.append(
            f"{name}: acceptance rate {acc:.3f} > {hi}: the step is far smaller "
            "than needed; the samples are valid but strongly correlated (larger "
            "hmc.step_size, or hmc.adapt_step_size: true)"
        )
    return out


def report(table: pd.DataFrame) -> None:
    """Log the table's problems as warnings, framed so they are not missed."""
    found = problems(table)
    for line in found:
        log.warning("HMC HEALTH: %s", line)
    if not found:
        log.info(
            "HMC health: R-hat <= %s in every dimension, acceptance in %s",
            RHAT_MAX,
            ACCEPTANCE_BAND,
        )


def of_run(
    samples: np.ndarray, n_chains: int, result: HMCResult, dataset: str, method: str
) -> pd.DataFrame:
    """:func:`hmc_table` of a sampler's result, its problems logged (:func:`report`).

    Args:
        samples: the kept draws (N, D), iteration-major.
        n_chains: chains of the run.
        result: the :class:`laser.latent.hmc.HMCResult` (acceptance rates, step size).
        dataset: dataset name.
        method: method name (``hmc``, ``oracle``).
    """
    table = hmc_table(
        samples,
        n_chains,
        result.acceptance_rate,
        result.burn_in_acceptance_rate,
        result.step_size,
        dataset,
        method,
        result.jump_rate,
    )
    report(table)
    return table


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
    "quantile",
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
    (``pilot``: ``bound_factor`` times the largest of ``pilot`` weights, or
    their ``quantile``;
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
        "quantile": math.nan if fixed else config.quantile,
        "pilot_max_weight": result.pilot_max_weight,
        "clipped_fraction": result.clipped_fraction,
        "clipped_mass": result.clipped_mass,
        "max_weight": result.max_weight,
        "mean_weight": result.mean_weight,
        "non_finite": result.non_finite,
    }
    if result.clipped_fraction > 0:
        log.warning(
            "REJECTION BOUND: %s/%s: %.3g of the proposals had w > M = %.6g and "
            "were accepted with probability 1 instead of w / M: the sample follows "
            "p min(w, M), off q by at most %.3g (clipped mass) in total variation "
            "(raise rejection.bound_factor, rejection.quantile or rejection.pilot "
            "to clip less)",
            dataset,
            method,
            result.clipped_fraction,
            result.bound,
            result.clipped_mass,
        )
    return pd.DataFrame([row], columns=REJECTION_COLUMNS)
