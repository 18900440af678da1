#!/usr/bin/env bash
# GPU check of the LaSeR workflow, for a machine with an NVIDIA GPU and a CUDA build
# of torch in the environment (.venv by default; PYTHON=/path/to/python to choose).
# At most about 10 minutes:
#
#   1. the tiny config (tests/configs/tiny.yaml) end to end with device: cuda
#      (--config device=cuda) in a temporary directory: checks that every torch job
#      logged a CUDA device and that results/table3.tsv has every row, with finite
#      scores; prints each job's wall time and peak host memory (max_rss);
#   2. one epoch of each training rule at the paper's settings (Sec. 4.1: 480k
#      points, batch 2000, the paper's networks; the rings' larger flow too), 2M
#      points through the flow, and 20 HMC iterations of 100 chains, on the GPU in
#      float64 (the paper's) and float32; prints seconds per epoch and the whole
#      rule extrapolated (epochs x), as benchmarks/paper_timing.py does on the CPU,
#      and the peak host and GPU memory. Written as TSV too where OUT says.
#
# Usage: benchmarks/gpu_check.sh [OUT.tsv]
# Exit status: 0 all checks passed, 1 a check failed, 2 no usable GPU here.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$REPO/.venv/bin/python}
SNAKEMAKE=$(dirname "$PY")/snakemake
OUT=${1:-}
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}

fail() {
    echo "gpu_check: FAILED: $*" >&2
    exit 1
}

# --- 0. a GPU that torch can use ---------------------------------------------------
[[ -x $PY ]] || {
    echo "gpu_check: no python at $PY (run make venv, or set PYTHON)" >&2
    exit 2
}
if ! "$PY" - <<'EOF'; then
import sys
import torch

if not torch.cuda.is_available():
    smi = "nvidia-smi found" if __import__("shutil").which("nvidia-smi") else "no nvidia-smi"
    sys.exit(
        f"gpu_check: no usable GPU: torch {torch.__version__} "
        f"(CUDA build: {torch.version.cuda or 'no, the CPU build'}) sees no CUDA "
        f"device; {smi}. Run this on a GPU machine with a CUDA build of torch."
    )
print(
    f"gpu_check: torch {torch.__version__}, CUDA {torch.version.cuda}, "
    f"{torch.cuda.device_count()} GPU(s): {torch.cuda.get_device_name(0)}"
)
EOF
    exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

# --- 1. the tiny config on the GPU -------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/laser-gpu-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
for f in Snakefile config.yaml pyproject.toml; do cp "$REPO/$f" "$WORK/"; done
for d in rules scripts schemas laser report envs profiles; do cp -r "$REPO/$d" "$WORK/"; done
cp "$REPO/tests/configs/tiny.yaml" "$WORK/tiny.yaml"
echo "gpu_check: 1. tiny config with device=cuda in $WORK"
t0=$(date +%s)
if ! (cd "$WORK" && timeout -k 15 300 "$SNAKEMAKE" --cores all --configfile tiny.yaml \
    --config device=cuda >snakemake.out 2>&1); then
    tail -n 40 "$WORK/snakemake.out" >&2
    fail "the tiny workflow with device=cuda did not finish (log above)"
fi
echo "gpu_check: tiny workflow done in $(($(date +%s) - t0)) s"
(cd "$WORK" && "$PY" - <<'EOF') || fail "tiny run's outputs (see above)"
import glob
import sys

import numpy as np
import pandas as pd

bad = []
for log in sorted(glob.glob("logs/*/*.log")):
    rule = log.split("/")[1]
    torch_rule = rule.startswith(("train_", "sample_")) or rule in (
        "run_hmc",
        "compute_weights",
    )
    if torch_rule and "device: cuda" not in open(log).read():
        bad.append(f"{log} logged no CUDA device")
table = pd.read_csv("results/table3.tsv", sep="\t")
cols = ["emd", "jsd", "floor_emd", "floor_jsd"]
if len(table) != 3 * 2 * 5:  # datasets x conventions x (truth + 4 methods)
    bad.append(f"table3.tsv has {len(table)} rows, not 30")
if not np.isfinite(table[cols].to_numpy()).all():
    bad.append("table3.tsv has scores that are not finite")
rows = []
for path in sorted(glob.glob("benchmarks/*/*.tsv")):
    b = pd.read_csv(path, sep="\t").iloc[0]
    rows.append((path.split("/")[1], path.split("/")[2][:-4], b["s"], b["max_rss"]))
print(pd.DataFrame(rows, columns=["rule", "dataset", "seconds", "max_rss_MB"]).to_string(index=False))
print(table[table.convention == "paper"][["dataset", "method", *cols]].to_string(index=False))
if bad:
    sys.exit("\n".join(bad))
print("gpu_check: every torch job ran on CUDA; table3.tsv complete and finite")
EOF

# --- 2. one epoch of each training rule at the paper's settings --------------------
echo "gpu_check: 2. one epoch per training rule at the paper's settings on the GPU"
timeout -k 15 240 "$PY" - "$OUT" <<'EOF' || fail "GPU timing (see above)"
import logging
import resource
import sys
import time

import numpy as np
import pandas as pd
import torch

from laser import datasets
from laser.latent import hmc as mcmc
from laser.latent.target import Target
from laser.models import classifier, flows, gan
from laser.training import OptimConfig
from laser.workflow.job import resolve_device

logging.basicConfig(level=logging.WARNING)
logging.getLogger("laser.workflow.job").setLevel(logging.INFO)  # logs the device
N, N_EVAL = 480_000, 2_000_000
dev = resolve_device("cuda")
logging.getLogger("laser.workflow.job").setLevel(logging.WARNING)


def timed(fn):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t0, out


rows = []


def record(rule, toy, dtype, unit, seconds, units):
    """One timing, printed at once (so that a timeout still shows the rest)."""
    rows.append((rule, toy, dtype, unit, seconds, units))
    print(f"{rule:17s} {toy:24s} {dtype:8s} {unit:14s} {seconds:8.3g} s"
          f"  -> rule {seconds * units / 3600:.3g} h", flush=True)  # fmt: skip


for dtype in (torch.float64, torch.float32):
    name = str(dtype).removeprefix("torch.")
    one = OptimConfig(epochs=1)
    # warm-up: CUDA context, cuBLAS, kernels
    flows.train(datasets.sample("gaussians", 4000, 0), flows.FlowConfig(), one, 0,
                dtype=dtype, device=dev)  # fmt: skip
    for toy, arch in [
        ("gaussians, double_donut", flows.FlowConfig()),
        ("rings", flows.FlowConfig(n_blocks=20, hidden_units=60)),
    ]:
        x = datasets.sample("rings" if toy == "rings" else "gaussians", N, 0)
        t, flow = timed(lambda: flows.train(x, arch, one, 0, dtype=dtype, device=dev))
        record("train_baseline", toy, name, "epoch", t, 100)
        t, _ = timed(lambda: flows.sample(flow, N_EVAL, 1))
        record("sample_baseline", toy, name, "2M points", t, 1)
        _, x_gen = flows.sample(flow, N, 2)
        t, clf = timed(
            lambda: classifier.train(x, x_gen, classifier.ClassifierConfig(), one,
                                     3, dtype, dev)  # fmt: skip
        )
        record("train_classifier", toy, name, "epoch", t, 50)
        hmc = mcmc.HMCConfig(burn_in=0, log_every=10**6)
        iters = 20
        t, _ = timed(lambda: mcmc.sample_hmc(hmc, Target(flow, clf), 100 * iters, 4)[:3])
        record("run_hmc", toy, name, f"{iters} iterations", t, 23_000 / iters)
    z = np.random.default_rng(0).standard_normal((N, 2))
    w = np.random.default_rng(1).exponential(size=N)
    refiner = OptimConfig(epochs=1, lr=1e-4, betas=(0.5, 0.9))
    t, _ = timed(lambda: gan.train(z, w, gan.GANConfig(), refiner, 5, dtype, dev))
    record("train_refiner", "all", name, "epoch", t, 200)

df = pd.DataFrame(rows, columns=["rule", "datasets", "dtype", "unit", "seconds", "units"])
df["rule_hours"] = df["seconds"] * df["units"] / 3600
print(f"# {torch.cuda.get_device_name(dev)}, torch {torch.__version__}")
print(df.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
gpu = torch.cuda.max_memory_allocated(dev) / 2**20
print(f"peak host memory (max_rss) {rss:.0f} MB, peak GPU memory {gpu:.0f} MB")
if len(sys.argv) > 1 and sys.argv[1]:
    df.to_csv(sys.argv[1], sep="\t", index=False, float_format="%.4g")
    print(f"written to {sys.argv[1]}")
if not np.isfinite(df["seconds"]).all():
    sys.exit("timings are not finite")
EOF
echo "gpu_check: all checks passed"
