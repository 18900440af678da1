"""The cost of saved progress (laser.progress) at the paper's network sizes.

- fit/flow, fit/gan: the same training (the paper's RealNVP and refiner GAN,
  float64, batch 2000) with a save after every epoch (ours) and with no saved
  progress (reference), alternating, in the same process; the fastest of each
  counts. Epochs here have `--steps` updates; the paper's have 240, over which a
  save weighs proportionally less. Also the seconds and megabytes of one save,
  against the time of one epoch at the paper's size (240 steps).
- save/hmc: one save of HMC's state near its end (100 chains and 2M kept samples
  in D=2, float64, as `run_hmc` at the paper's sizes), against the default
  interval between saves (`progress.minutes: 10`).

Rows: `stage, metric, ours, reference, ratio` (ratio > 1: ours is better; for the
fit rows, reference / ours of the seconds, so a ratio near 1 means saving costs
next to nothing).

Usage: python benchmarks/progress_cost.py [--steps 20] [--out FILE.tsv]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import Row, machine, print_rows, write_rows

from laser.models import flows, gan
from laser.models.flows import FlowConfig
from laser.models.gan import GANConfig
from laser.progress import Progress
from laser.training import OptimConfig

BATCH = 2000
EPOCHS = 3
ROUNDS = 5


def alternating(a, b) -> tuple[float, float]:
    """Wall seconds of the fastest of ROUNDS calls of `a` and of `b`, called in
    turn (robust to other load on the machine)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(ROUNDS):
        for fn, out in zip((a, b), times, strict=True):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return min(times[0]), min(times[1])


def best(fn) -> float:
    """Wall seconds of the fastest of ROUNDS calls."""
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def fit_rows(name: str, train, steps: int) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:

        def saving() -> None:
            # a fresh directory each call: a save of an earlier call would resume
            d = Path(tempfile.mkdtemp(dir=tmp))
            train(Progress(d, "benchmark", every_steps=1))

        def plain() -> None:
            train(Progress.off())

        plain()  # warm-up
        t_plain, t_saving = alternating(plain, saving)
        size = sum(f.stat().st_size for f in Path(tmp).rglob("*.pt")) / ROUNDS / 1e6
        saved = torch.load(next(Path(tmp).rglob("*.pt")), weights_only=True)
        with Progress(Path(tmp) / "again", "benchmark").loop(name, EPOCHS) as loop:
            save_seconds = best(lambda: loop.save(EPOCHS, saved["state"]))
    per_epoch = t_plain / EPOCHS
    rows.append((f"fit/{name}", f"seconds_{EPOCHS}_epochs_of_{steps}_steps",
                 t_saving, t_plain, t_plain / t_saving))  # fmt: skip
    rows.append((f"fit/{name}", "save_megabytes", size, float("nan"), float("nan")))
    # how many saves one paper epoch (240 steps) is worth
    paper_epoch = per_epoch * 240 / steps
    rows.append((f"fit/{name}", "save_seconds_vs_paper_epoch", save_seconds,
                 paper_epoch, paper_epoch / save_seconds))  # fmt: skip
    return rows


def hmc_row() -> list[Row]:
    rng = np.random.default_rng(0)
    state = {
        "z": torch.randn(100, 2, dtype=torch.float64),
        "u": torch.randn(100, dtype=torch.float64),
        "grad_u": torch.randn(100, 2, dtype=torch.float64),
        "samples": torch.as_tensor(rng.normal(size=(2_000_000, 2))),
        "accepts": torch.zeros(2, dtype=torch.long),
        "rng": {"generators": [torch.Generator().get_state()]},
        "step": 0.004,
    }
    with tempfile.TemporaryDirectory() as tmp:
        p = Progress(tmp, "benchmark")
        with p.loop("HMC", 23_000) as loop:
            seconds = best(lambda: loop.save(22_999, state))
        size = sum(f.stat().st_size for f in Path(tmp).glob("*.pt")) / 1e6
    return [
        ("save/hmc", "save_seconds_vs_default_interval", seconds, 600.0, 600 / seconds),
        ("save/hmc", "save_megabytes", size, float("nan"), float("nan")),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20, help="updates per epoch")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(2)
    print(machine())
    rng = np.random.default_rng(1)
    x = rng.normal(size=(args.steps * BATCH, 2))
    w = rng.uniform(0.5, 2.0, size=len(x))
    optim = OptimConfig(epochs=EPOCHS, batch_size=BATCH, weight_decay=1e-5)
    f64 = torch.float64
    rows = fit_rows(
        "flow",
        lambda p: flows.train(x, FlowConfig(), optim, 1, dtype=f64, progress=p),
        args.steps,
    )
    gan_steps = max(1, args.steps // 5)  # a GAN iteration costs about 5 flow steps
    z = x[: gan_steps * BATCH]
    rows += fit_rows(
        "gan",
        lambda p: gan.train(z, w[: len(z)], GANConfig(), optim, 2, f64, progress=p),
        gan_steps,
    )
    rows += hmc_row()
    print_rows(rows)
    write_rows(rows, args.out)


if __name__ == "__main__":
    main()
