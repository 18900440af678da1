"""How the cost of each stage grows with the dimension D of the events and with
the sample size N.

Synthetic data: a correlated Gaussian mixture in D dimensions (4 components,
random means and full covariances, seeded per D) as the truth, and the same
mixture with shifted means and 5 % wider components as a "method" sample (an
imperfect generator). At D = 2, 4, 8, 16 and N = 20k, 80k events:

- flow_epoch: seconds per epoch of ``laser.models.flows.train`` on N points
  (the paper's RealNVP, 12 blocks x 3 hidden layers x 48 units, batch 2000,
  float32), the fastest of the epochs after a warm-up epoch (epoch times from
  the training loop's log records).
- classifier_epoch: the same for ``laser.models.classifier.train`` (the paper's
  8 x 96 MLP, batch 2000, float32), truth N vs method N points (2N per epoch).
- hmc_leapfrog_step_per_1000_chains: seconds of one leapfrog step (one
  gradient of log q(z) = -|z|^2/2 + log w(g(z)) through the flow and the
  classifier) per 1000 chains, from the kept iterations of
  ``laser.latent.hmc.sample`` (float32, 5000 chains, 10 leapfrog steps, 5
  burn-in iterations) on the target built from the flow and classifier just
  trained at N = 20k. Independent of N (column N empty).
- the parts of ``laser.evaluation.events.score_events`` for one sample against
  the truth, at the workflow's defaults (``schemas/config.schema.yaml``,
  ``evaluate.events``; FPD and KPD at their function defaults, as
  ``scripts/evaluate_events.py`` calls them): ``w1`` and ``jsd`` over all D
  features, ``pair``: one column pair's two 40 x 40 histograms and their exact
  EMD and JSD in both conventions (``histogram2d`` + ``metrics.scores``),
  ``fpd``, ``kpd``, ``auc`` (the two-sample classifier), and
  ``score_events_per_sample``: their sum with the default pairs (all D(D-1)/2
  pairs for D <= 6, none above), what ``score_events`` spends per method and on
  the truth floor.

Against the other jobs on the machine, every part is timed in rounds over all D
(full: 2 rounds, ascending then descending D, each with fresh training) and
the fastest round counts; w1, jsd and pair take the fastest of 3 calls.

Why these N: 20k is FPD's smallest batch (its batches are drawn with
replacement, 20k-50k rows, whatever N) and 80k, x4, is above its largest batch
and JetNet's recommended 50k, so a cost linear in N shows as x4; the paper's
480k (training) and 2M (evaluation) would take the run far beyond 15 minutes at
D = 16 and scale from these figures.

One torch thread and one BLAS thread (OMP/OpenBLAS/MKL_NUM_THREADS=1, set before
numpy is imported) so the figures are one core's. A part whose single call took
longer than ``--cap`` seconds is not repeated, nor run at a larger D (each cut
printed as a note; its row is then empty).

Rows: ``part, D, N, seconds, ratio`` with ratio = seconds / seconds at D = 2 and
the same N (the same process).

Usage: python benchmarks/cost_vs_dim.py [--quick] [--dims 2 4 8 16]
       [--sizes 20000 80000] [--out FILE.tsv]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from common import REPO, machine  # noqa: E402

from laser.evaluation.distances import feature_jsd, wasserstein_1d  # noqa: E402
from laser.evaluation.events import (  # noqa: E402
    default_pairs,
    default_ranges,
    score_events,
)
from laser.evaluation.fpd import fpd, kpd  # noqa: E402
from laser.evaluation.histograms import histogram2d  # noqa: E402
from laser.evaluation.metrics import scores  # noqa: E402
from laser.evaluation.twosample import classifier_auc  # noqa: E402
from laser.latent.hmc import HMCConfig  # noqa: E402
from laser.latent.hmc import sample as hmc_sample  # noqa: E402
from laser.latent.target import latent_log_prob  # noqa: E402
from laser.models import classifier, flows  # noqa: E402
from laser.models.classifier import ClassifierConfig  # noqa: E402
from laser.models.flows import FlowConfig  # noqa: E402
from laser.training import OptimConfig  # noqa: E402

BATCH = 2000
COMPONENTS = 4
HMC_CHAINS = 5000
HMC_LEAPFROG = 10
HMC_BURN_IN = 5
PARTS = (
    "flow_epoch",
    "classifier_epoch",
    "hmc_leapfrog_step_per_1000_chains",
    "w1",
    "jsd",
    "pair",
    "fpd",
    "kpd",
    "auc",
    "score_events_per_sample",
)

Row = tuple[str, int, int | None, float, float]


def events_defaults() -> dict:
    """The workflow's defaults of ``evaluate.events`` (bins, pair_bins, twosample)."""
    schema = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())
    props = schema["properties"]["evaluate"]["properties"]["events"]["properties"]
    two = {k: v["default"] for k, v in props["twosample"]["properties"].items()}
    return {
        "bins": props["bins"]["default"],
        "pair_bins": props["pair_bins"]["default"],
        "twosample": two,
    }


def mixture(dim: int, n: int, seed: int, shift: float = 0.0, widen: float = 1.0):
    """n points (n, dim) of a correlated Gaussian mixture fixed per dim; `shift`
    moves every mean by that much along each axis, `widen` scales the spreads."""
    p = np.random.default_rng(1000 + dim)  # the mixture's parameters
    means = p.normal(0.0, 2.0, size=(COMPONENTS, dim))  # (K, D)
    a = p.normal(size=(COMPONENTS, dim, dim)) / math.sqrt(dim)  # (K, D, D)
    chol = np.linalg.cholesky(a @ a.transpose(0, 2, 1) + 0.2 * np.eye(dim))
    rng = np.random.default_rng(seed)
    k = rng.integers(COMPONENTS, size=n)  # (n,)
    z = rng.normal(size=(n, dim))  # (n, D)
    x = means[k] + shift + widen * np.einsum("nij,nj->ni", chol[k], z)
    return x.astype(np.float32)


class EpochClock(logging.Handler):
    """Wall-clock stamps of the training loop's per-epoch log records."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.stamps: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and " epoch %d/%d" in record.msg:
            self.stamps.append(time.perf_counter())

    def epochs(self) -> list[float]:
        """Seconds of every epoch after the first (the warm-up)."""
        return list(np.diff(self.stamps))


def timed_epochs(train: Callable[[], object]) -> tuple[object, float]:
    """The trained model and the fastest epoch after the first one."""
    clock = EpochClock()
    logger = logging.getLogger("laser.training")
    logger.addHandler(clock)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        model = train()
    finally:
        logger.removeHandler(clock)
        logger.setLevel(old)
    return model, min(clock.epochs())


class Runner:
    """Times the parts round after round, keeps the fastest, cuts what is too long."""

    def __init__(self, cheap_repeats: int, cap: float) -> None:
        self.cheap_repeats, self.cap = cheap_repeats, cap
        self.times: dict[tuple[str, int, int | None], list[float]] = {}
        self.notes: set[tuple[str, int | None]] = set()

    def cut(self, part: str, dim: int, n: int | None) -> bool:
        """Whether to skip the part here: it took longer than the cap at a
        smaller D (and grows with D), or already once here (not repeated)."""
        for (p, d, m), times in self.times.items():
            if p == part and m == n and max(times) > self.cap and d <= dim:
                if (part, n) not in self.notes:
                    self.notes.add((part, n))
                    what = "not repeated" if d == dim else f"cut beyond D={d}"
                    print(
                        f"# note: {part} at N={n} {what}: one call took "
                        f"{max(times):.0f} s at D={d} (> --cap {self.cap:.0f} s)",
                        flush=True,
                    )
                return True
        return False

    def time(self, part: str, dim: int, n: int | None, fn, cheap=False) -> None:
        """Record the wall seconds of `fn` (the fastest of a few if cheap)."""
        if self.cut(part, dim, n):
            return
        times = []
        for _ in range(self.cheap_repeats if cheap else 1):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        self.add(part, dim, n, min(times))

    def add(self, part: str, dim: int, n: int | None, seconds: float) -> None:
        self.times.setdefault((part, dim, n), []).append(seconds)
        print(f"{part:34s} {dim:3d} {'-' if n is None else n:>7} {seconds:10.4g}")

    def best(self, part: str, dim: int, n: int | None) -> float:
        return min(self.times.get((part, dim, n), [math.nan]))

    def rows(self, dims: list[int], sizes: list[int]) -> list[Row]:
        """The fastest of the rounds per part, D and N, with the ratio to D = 2."""
        pairs = {dim: len(default_pairs(dim)) for dim in dims}
        for dim in dims:  # score_events per sample: the sum of its parts
            for n in sizes:
                parts = {p: self.best(p, dim, n) for p in PARTS[3:9]}
                total = sum(parts.values()) + (pairs[dim] - 1) * parts["pair"]
                self.times[("score_events_per_sample", dim, n)] = [total]
        out = []
        for part in PARTS:
            for n in [None] if part.startswith("hmc") else sizes:
                ref = self.best(part, 2, n)
                for dim in dims:
                    s = self.best(part, dim, n)
                    out.append((part, dim, n, s, s / ref))
        return out


def _line(row: Row) -> str:
    part, dim, n, s, ratio = row
    return f"{part:34s} {dim:3d} {'-' if n is None else n:>7} {s:10.4g} {ratio:8.3g}"


def header(ratio: bool = True) -> str:
    return f"{'part':34s} {'D':>3s} {'N':>7s} {'seconds':>10s}" + (
        f" {'ratio':>8s}" if ratio else ""
    )


def write_tsv(rows: list[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        f.write("part\tD\tN\tseconds\tratio\n")
        for part, dim, n, s, ratio in rows:
            cells = [part, str(dim), "" if n is None else str(n)]
            cells += ["" if math.isnan(v) else f"{v:.6g}" for v in (s, ratio)]
            f.write("\t".join(cells) + "\n")


def training_parts(run: Runner, dim: int, n: int, epochs: int, keep: dict) -> None:
    x = mixture(dim, n, seed=1)
    y = mixture(dim, n, seed=2, shift=0.1, widen=1.05)
    optim = OptimConfig(epochs=1 + epochs, batch_size=BATCH, weight_decay=1e-5)
    flow, s = timed_epochs(lambda: flows.train(x, FlowConfig(), optim, 0))
    run.add("flow_epoch", dim, n, s)
    clf, s = timed_epochs(
        lambda: classifier.train(x, y, ClassifierConfig(), optim, 1, torch.float32)
    )
    run.add("classifier_epoch", dim, n, s)
    keep.setdefault(dim, (flow, clf))  # the smallest N's models serve HMC


def hmc_part(run: Runner, dim: int, flow, clf, kept: int) -> None:
    config = HMCConfig(
        step_size=0.02,
        n_leapfrog=HMC_LEAPFROG,
        n_chains=HMC_CHAINS,
        burn_in=HMC_BURN_IN,
        log_every=10**6,
    )
    gen = torch.Generator().manual_seed(3)
    init = torch.randn(HMC_CHAINS, dim, generator=gen)
    result = hmc_sample(
        latent_log_prob(flow, clf), init, kept * HMC_CHAINS, config, gen
    )
    per_step = result.seconds[1] / (kept * HMC_LEAPFROG) / (HMC_CHAINS / 1000)
    run.add("hmc_leapfrog_step_per_1000_chains", dim, None, per_step)


def metric_parts(run: Runner, dim: int, n: int, ev: dict) -> None:
    truth = mixture(dim, n, seed=4).astype(np.float64)
    x = mixture(dim, n, seed=5, shift=0.1, widen=1.05).astype(np.float64)
    ranges = default_ranges(truth)
    bins, pair_bins = ev["bins"], ev["pair_bins"]
    rng2 = [list(ranges[0]), list(ranges[1])]

    def w1() -> None:
        for k in range(dim):
            wasserstein_1d(truth[:, k], x[:, k])

    def jsd() -> None:
        for k in range(dim):
            feature_jsd(truth[:, k], x[:, k], bins, ranges[k])

    def pair() -> None:
        ct = histogram2d(truth[:, [0, 1]], pair_bins, rng2)
        c = histogram2d(x[:, [0, 1]], pair_bins, rng2)
        scores(ct, c, rng2)

    run.time("w1", dim, n, w1, cheap=True)
    run.time("jsd", dim, n, jsd, cheap=True)
    run.time("pair", dim, n, pair, cheap=True)
    run.time("fpd", dim, n, lambda: fpd(truth, x, seed=0))
    run.time("kpd", dim, n, lambda: kpd(truth, x, seed=0))
    run.time("auc", dim, n, lambda: classifier_auc(truth, x, seed=0, **ev["twosample"]))


def check_sum(dim: int, n: int, ev: dict, run: Runner) -> None:
    """score_events itself (the floor + one method) against 2 x the sum of parts."""
    truth = mixture(dim, n, seed=4)
    t0 = time.perf_counter()
    score_events(
        "check",
        truth,
        mixture(dim, n, seed=6),
        {"method": (mixture(dim, n, seed=5, shift=0.1, widen=1.05), None)},
        names=[f"x{k}" for k in range(dim)],
        pairs=None,
        bins=ev["bins"],
        pair_bins=ev["pair_bins"],
        ranges=None,
        seed=0,
        twosample=ev["twosample"],
    )
    direct = time.perf_counter() - t0
    parts = run.best("score_events_per_sample", dim, n)
    print(
        f"# check: score_events (truth floor + 1 method) at D={dim}, N={n}: "
        f"{direct:.1f} s in one call; 2 x the sum of the parts: {2 * parts:.1f} s",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--dims", type=int, nargs="+", default=[2, 4, 8, 16])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 80_000])
    ap.add_argument("--cap", type=float, default=120.0, help="seconds per call")
    ap.add_argument(
        "--out", type=Path, default=REPO / "docs/benchmarks/parts/dimension.tsv"
    )
    args = ap.parse_args()
    if 2 not in args.dims:
        ap.error("--dims must include 2 (the reference of the ratios)")
    torch.set_num_threads(1)
    # (rounds, timed epochs per training, HMC kept iterations, cheap repeats)
    rounds, epochs, kept, cheap = (1, 1, 2, 1) if args.quick else (2, 2, 5, 3)
    run = Runner(cheap, cap=args.cap)
    ev = events_defaults()
    dims, sizes = sorted(set(args.dims)), sorted(set(args.sizes))
    print(machine())
    print(
        f"# dims {dims}, sizes {sizes}, {'quick' if args.quick else 'full'}: "
        f"{rounds} round(s) over all D (ascending, then descending), each with "
        f"{epochs} timed epoch(s) after 1 warm-up, HMC {kept} kept iterations, "
        f"every metric once (w1, jsd, pair: fastest of {cheap}); the fastest "
        f"round counts. evaluate.events defaults: {ev}",
        flush=True,
    )
    t_start = time.perf_counter()
    warm = mixture(2, 2 * BATCH, seed=0)  # untimed: torch's first calls
    flows.train(warm, FlowConfig(), OptimConfig(epochs=1), 0)
    classifier.train(warm, warm, ClassifierConfig(), OptimConfig(epochs=1), 0)
    print(header(ratio=False))
    for r in range(rounds):
        print(f"# round {r + 1}/{rounds}", flush=True)
        keep: dict = {}
        for dim in dims if r % 2 == 0 else dims[::-1]:
            for n in sizes:
                training_parts(run, dim, n, epochs, keep)
            hmc_part(run, dim, *keep[dim], kept)
            for n in sizes:
                metric_parts(run, dim, n, ev)
    rows = run.rows(dims, sizes)
    for dim in dims:
        print(f"# D={dim}: score_events scores {len(default_pairs(dim))} pairs")
    if not args.quick and 4 in dims:
        check_sum(4, sizes[0], ev, run)
    print(f"\n# {time.perf_counter() - t_start:.0f} s in all")
    print(header())
    for row in rows:
        print(_line(row))
    write_tsv(rows, args.out)


if __name__ == "__main__":
    main()
