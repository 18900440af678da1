"""Per-rule wall time of the paper's settings, extrapolated from measured throughput.

Times a few steps of every expensive stage at the paper's sizes (Sec. 4.1) on
this machine and scales them to the full rule: training steps per epoch times
epochs, HMC iterations, sampling of 2M points, and the six EMD scorings of one
dataset. Prints a table and writes it as TSV where `--out` says.

Usage: python benchmarks/paper_timing.py [--dtype float64] [--out FILE]
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import numpy as np
import pandas as pd
import torch

from laser.data import toys as datasets
from laser.evaluation import histograms, metrics
from laser.latent import target
from laser.latent.hmc import HMCConfig
from laser.latent.integrator import potential_and_grad
from laser.latent.kernels import hmc_step
from laser.models import classifier, flows, gan
from laser.training import OptimConfig, make_optimizer

N_TRAIN, N_EVAL, BATCH = 480_000, 2_000_000, 2000


def per_call(fn, repeats: int, warmup: int = 2) -> float:
    """Mean seconds of fn() over `repeats` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def step_fn(model, loss):
    opt, _ = make_optimizer(model.parameters(), OptimConfig())

    def step():
        opt.zero_grad()
        loss().backward()
        opt.step()

    return step


def time_architecture(
    name: str, arch: flows.FlowConfig, x: torch.Tensor, dtype: torch.dtype
) -> list[tuple]:
    """Rows for the rules whose cost depends on the flow architecture."""
    rows = []
    flow = flows.RealNVP(2, arch).to(dtype)
    flow.set_standardisation(x)
    t = per_call(step_fn(flow, lambda: flows.nll(flow, x)), 20)
    steps = 100 * math.ceil(N_TRAIN / BATCH)
    rows.append(("train_baseline", name, "step", t, steps, t * steps))
    z = torch.randn(100_000, 2, dtype=dtype)
    t = per_call(lambda: flows.transform(flow, z), 3, 1)
    rows.append(("sample_baseline", name, "100k points", t, 20, 20 * t))

    clf = classifier.Classifier(2, classifier.ClassifierConfig()).to(dtype)
    y = torch.randint(0, 2, (len(x),)).to(dtype)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    t = per_call(step_fn(clf, lambda: bce(clf(x), y)), 20)
    steps = 50 * math.ceil(2 * N_TRAIN / BATCH)  # data + generated per epoch
    rows.append(("train_classifier", name, "step", t, steps, t * steps))

    hmc = HMCConfig()
    log_prob = target.latent_log_prob(flow, clf)
    z0 = torch.randn(hmc.n_chains, 2, dtype=dtype)
    u, g = potential_and_grad(log_prob, z0)
    gen = torch.Generator().manual_seed(0)
    t = per_call(lambda: hmc_step(log_prob, z0, u, g, hmc, gen), 3, 1)
    iters = hmc.burn_in + math.ceil(N_EVAL / hmc.n_chains)
    rows.append(("run_hmc", name, "iteration (100 chains)", t, iters, t * iters))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    rows = []
    x = torch.as_tensor(datasets.sample("rings", BATCH, 0), dtype=dtype)
    for name, arch in [
        ("gaussians, double_donut", flows.FlowConfig()),
        ("rings", flows.FlowConfig(n_blocks=20, hidden_units=60)),
    ]:
        rows += time_architecture(name, arch, x, dtype)

    cfg = gan.GANConfig()
    g_net = gan.Generator(2, cfg).to(dtype)
    d_net = flows.mlp(2, 1, cfg.hidden_layers, cfg.hidden_units).to(dtype)
    opt_d, _ = make_optimizer(d_net.parameters(), OptimConfig(lr=1e-4))
    opt_g, _ = make_optimizer(g_net.parameters(), OptimConfig(lr=1e-4))
    real, w = torch.randn(BATCH, 2, dtype=dtype), torch.rand(BATCH, dtype=dtype)

    def gan_iteration() -> None:
        for _ in range(cfg.d_updates):
            fake = g_net(torch.randn(BATCH, cfg.latent_dim, dtype=dtype)).detach()
            loss = gan.discriminator_loss(d_net(real)[:, 0], d_net(fake)[:, 0], w)
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
        fake = g_net(torch.randn(BATCH, cfg.latent_dim, dtype=dtype))
        loss = gan.generator_loss(d_net(fake)[:, 0])
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()

    t = per_call(gan_iteration, 10)
    iters = 200 * math.ceil(N_TRAIN / BATCH)
    rows.append(("train_refiner", "all", "iteration (4 D + 1 G)", t, iters, t * iters))

    rng = np.random.default_rng(0)
    truth = datasets.TOYS["gaussians"].draw(N_EVAL, rng)
    other = datasets.TOYS["gaussians"].draw(N_EVAL, rng)
    rng2d = [[-8.2, 8.2], [-8.2, 8.2]]
    a, b = (
        histograms.histogram2d(truth, 100, rng2d),
        histograms.histogram2d(other, 100, rng2d),
    )
    t = per_call(lambda: metrics.scores(a, b, rng2d), 1, 0)
    rows.append(("evaluate", "gaussians", "one method, both conventions", t, 5, 5 * t))

    df = pd.DataFrame(
        rows,
        columns=["rule", "datasets", "unit", "seconds_per_unit", "units", "seconds"],
    )
    df["hours"] = df["seconds"] / 3600
    print(
        f"# {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}, {args.dtype}"
    )
    print(df.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.out:
        df.to_csv(args.out, sep="\t", index=False, float_format="%.4g")


if __name__ == "__main__":
    main()
