"""HMC effective samples per second: ours against the paper's setting.

Both samplers target the same latent density q(z) ~ N(z; 0, I) w(g(z)) (Eq. 3 of
arXiv:2106.00792) of the same trained flow g and classifier (paper architectures,
trained by `common.trained_models`), and start from the same kind of points: a
sampling-importance-resampling draw of q (prior points resampled by their weights),
so both are near equilibrium and a short burn-in suffices for the comparison.

- reference: the paper's setting (Sec. 4.1), 100 chains, float64, fixed step
  0.004, 50 leapfrog steps.
- ours: the workflow's sampler with many chains in one batch, float32, at most
  `--chunk` rows per network call, the step size tuned during burn-in by dual
  averaging (target acceptance 0.8) and `--leapfrog` steps.

Effective sample size: ArviZ's rank-normalised bulk ESS (and tail ESS) over all
chains, per latent dimension, the smaller of the two dimensions reported; per
second of the kept iterations (burn-in excluded for both; its cost is printed).
Same target: means and covariances of the two sample sets must agree within
their Monte Carlo errors, estimated from the spread between independent chains
(|difference| / combined standard error, the largest of the 5 statistics).

Usage: python benchmarks/hmc_speed.py [--dataset gaussians] [--out FILE.tsv]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import arviz as az
import numpy as np
import torch
from common import Row, machine, print_rows, trained_models, write_rows

from laser import io
from laser.latent import hmc, target
from laser.models import classifier, flows
from laser.seeding import torch_generator

#: The paper's sampler (Sec. 4.1).
PAPER = hmc.HMCConfig(step_size=0.004, n_leapfrog=50, n_chains=100)


def run(
    flow, clf, init: torch.Tensor, cfg: hmc.HMCConfig, n_keep: int, seed: int
) -> tuple[np.ndarray, hmc.HMCResult]:
    """Kept draws as (chains, draws, D) float64 and the sampler's result."""
    param = next(flow.parameters())
    z0 = init.to(param.dtype)
    res = hmc.sample(
        target.latent_log_prob(flow, clf),
        z0,
        n_keep * cfg.n_chains,
        cfg,
        torch_generator(seed),
    )
    draws = res.samples.double().numpy().reshape(n_keep, cfg.n_chains, -1)
    return draws.transpose(1, 0, 2), res


def ess(draws: np.ndarray, method: str) -> np.ndarray:
    """ArviZ ESS per dimension of draws (chains, draws, D)."""
    data = az.convert_to_dataset(draws)
    return np.asarray(az.ess(data, method=method)["x"].values)


def moments(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means and covariance entries (5 for D=2) with standard errors.

    Chains are independent, so the standard error of a statistic averaged
    over chains is the spread of its per-chain values / sqrt(chains).
    """
    n_chains = draws.shape[0]
    mean = draws.mean(axis=(0, 1))  # (D,)
    centred = draws - mean  # (C, N, D)
    iu = np.triu_indices(draws.shape[2])
    per_chain = np.concatenate(
        [
            draws.mean(axis=1),
            np.einsum("cni,cnj->cij", centred, centred)[:, iu[0], iu[1]]
            / draws.shape[1],
        ],
        axis=1,
    )  # (C, D + D(D+1)/2)
    return per_chain.mean(0), per_chain.std(0, ddof=1) / math.sqrt(n_chains)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="gaussians")
    ap.add_argument("--chains", type=int, default=10_000, help="ours: chains")
    ap.add_argument("--chunk", type=int, default=10_000, help="ours: rows per call")
    ap.add_argument("--leapfrog", type=int, default=10, help="ours: leapfrog steps")
    ap.add_argument("--burn", type=int, default=100, help="ours: burn-in iterations")
    ap.add_argument("--keep", type=int, default=100, help="ours: kept iterations")
    ap.add_argument("--paper-burn", type=int, default=50)
    ap.add_argument("--paper-keep", type=int, default=400)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, help="also write the rows as TSV")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print("# " + ", ".join(f"{k}: {v}" for k, v in machine().items()))

    flow_path, clf_path = trained_models(args.dataset)
    results = {}
    setups = {
        "reference": (
            torch.float64,
            hmc.HMCConfig(
                step_size=PAPER.step_size,
                n_leapfrog=PAPER.n_leapfrog,
                n_chains=PAPER.n_chains,
                burn_in=args.paper_burn,
                log_every=10**9,
            ),
            args.paper_keep,
        ),
        "ours": (
            torch.float32,
            hmc.HMCConfig(
                step_size=PAPER.step_size,
                n_leapfrog=args.leapfrog,
                n_chains=args.chains,
                burn_in=args.burn,
                chunk_size=args.chunk,
                adapt_step_size=True,
                target_accept=0.8,
                log_every=10**9,
            ),
            args.keep,
        ),
    }
    for seed, (name, (dtype, cfg, n_keep)) in enumerate(setups.items()):
        flow = io.load_model(flow_path, flows.build, dtype, "cpu")
        clf = io.load_model(clf_path, classifier.build, dtype, "cpu")
        # the workflow's hmc.init: resample, with a pool of 400k prior points
        init = target.resampled_init(
            flow, clf, cfg.n_chains, torch_generator(10 + seed), pool=400_000
        )
        t0 = time.perf_counter()
        draws, res = run(flow, clf, init, cfg, n_keep, seed=20 + seed)
        wall = time.perf_counter() - t0
        burn_s, keep_s = res.seconds
        bulk, tail = ess(draws, "bulk"), ess(draws, "tail")
        results[name] = dict(
            draws=draws,
            keep_s=keep_s,
            bulk=bulk,
            tail=tail,
            ess_s=bulk.min() / keep_s,
            tail_s=tail.min() / keep_s,
            draws_s=draws.shape[0] * draws.shape[1] / keep_s,
            grads_s=draws.shape[0] * draws.shape[1] * cfg.n_leapfrog / keep_s,
        )
        print(
            f"# {name}: {cfg.n_chains} chains x {n_keep} kept (+{cfg.burn_in} burn-in,"
            f" {burn_s:.1f} s), {str(dtype)[6:]}, step {res.step_size:.4g} x "
            f"{cfg.n_leapfrog}, acceptance {res.acceptance_rate:.3f}; kept in "
            f"{keep_s:.1f} s ({wall:.1f} s in all); bulk ESS {np.round(bulk, 1)}, "
            f"tail ESS {np.round(tail, 1)}; {results[name]['draws_s']:.0f} draws/s, "
            f"{results[name]['ess_s']:.1f} bulk ESS/s",
            flush=True,
        )

    m_ours, se_ours = moments(results["ours"]["draws"])
    m_ref, se_ref = moments(results["reference"]["draws"])
    z = np.abs(m_ours - m_ref) / np.hypot(se_ours, se_ref)
    names = ["mean_0", "mean_1", "cov_00", "cov_01", "cov_11"]
    for n, a, sa, b, sb, zz in zip(
        names, m_ours, se_ours, m_ref, se_ref, z, strict=True
    ):
        print(
            f"# {n}: ours {a:.4f} +- {sa:.4f}, reference {b:.4f} +- {sb:.4f}, "
            f"|diff|/se {zz:.2f}"
        )
    same = bool(z.max() < 4.0)
    print(f"# same target (all |diff|/se < 4): {same}")

    o, r = results["ours"], results["reference"]
    stage = f"hmc/{args.dataset}"
    rows: list[Row] = [
        (stage, "bulk_ess_per_s", o["ess_s"], r["ess_s"], o["ess_s"] / r["ess_s"]),
        (stage, "tail_ess_per_s", o["tail_s"], r["tail_s"], o["tail_s"] / r["tail_s"]),
        (stage, "draws_per_s", o["draws_s"], r["draws_s"], o["draws_s"] / r["draws_s"]),
        (stage, "same_target_max_z", float(z.max()), 4.0, 4.0 / float(z.max())),
    ]
    print_rows(rows)
    write_rows(rows, args.out)


if __name__ == "__main__":
    main()
