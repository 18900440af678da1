"""Shared pieces of the benchmarks: trained models, timing, rows, machine facts.

Every benchmark prints rows ``stage, metric, ours, reference, ratio`` (ratio > 1
means ours is better) and can write them as TSV with ``--out``;
``benchmarks/summary.py`` gathers them into docs/benchmarks/summary.{tsv,md}.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from laser import io
from laser.data import toys as datasets
from laser.models import classifier, flows
from laser.models.classifier import ClassifierConfig
from laser.models.flows import FlowConfig
from laser.training import OptimConfig

REPO = Path(__file__).resolve().parent.parent
#: Trained models of the benchmarks (not committed).
CACHE = REPO / ".bench-cache"
#: The paper's training-set size (Sec. 4.1).
N_TRAIN = 480_000
#: The flow architecture per toy (Sec. 4.1; the rings use the larger flow).
FLOW = {
    "gaussians": FlowConfig(),
    "double_donut": FlowConfig(),
    "rings": FlowConfig(n_blocks=20, hidden_units=60),
}

Row = tuple[str, str, float, float, float]


def per_call(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall seconds of one call of ``fn`` over ``repeats`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def trained_models(
    dataset: str = "gaussians", epochs: tuple[int, int] = (10, 5), seed: int = 0
) -> tuple[Path, Path]:
    """Paths of a baseline flow and a classifier trained for the benchmarks.

    Paper architectures, float64, on 480k points, but only ``epochs`` (flow,
    classifier) passes: the benchmarks need the networks' cost and a target
    with the structure LaSeR sees, not the paper's accuracy. Trained once
    and kept under .bench-cache/.
    """
    out = CACHE / f"{dataset}-e{epochs[0]}-{epochs[1]}-s{seed}"
    flow_path, clf_path = out / "baseline.pt", out / "classifier.pt"
    if flow_path.exists() and clf_path.exists():
        return flow_path, clf_path
    out.mkdir(parents=True, exist_ok=True)
    x = datasets.sample(dataset, N_TRAIN, seed)
    t0 = time.perf_counter()
    optim = OptimConfig(epochs=epochs[0], lr=1e-3, weight_decay=1e-5)
    flow = flows.train(x, FLOW[dataset], optim, seed, dtype=torch.float64)
    io.save_model(flow, flow.hparams, flow_path)
    _, gen = flows.sample(flow, N_TRAIN, seed + 1)
    clf = classifier.train(
        datasets.sample(dataset, N_TRAIN, seed + 3),
        gen,
        ClassifierConfig(),
        OptimConfig(epochs=epochs[1]),
        seed + 2,
        torch.float64,
    )
    io.save_model(clf, clf.hparams, clf_path)
    print(f"# trained models for {dataset} in {time.perf_counter() - t0:.0f} s")
    return flow_path, clf_path


def print_rows(rows: Sequence[Row]) -> None:
    """Print rows as an aligned table."""
    print(
        f"{'stage':34s} {'metric':26s} {'ours':>12s} {'reference':>12s} {'ratio':>9s}"
    )
    for stage, metric, a, b, ratio in rows:
        print(f"{stage:34s} {metric:26s} {a:12.4g} {b:12.4g} {ratio:9.3g}")


def write_rows(rows: Sequence[Row], path: Path | None) -> None:
    """Write rows as TSV with the header ``stage metric ours reference ratio``."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        f.write("stage\tmetric\tours\treference\tratio\n")
        for row in rows:
            f.write("\t".join(_fmt(v) for v in row) + "\n")


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def machine() -> dict[str, str]:
    """Facts about the machine and software a benchmark ran on."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "torch_threads": str(torch.get_num_threads()),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
