"""Speed, peak memory and agreement of `transport.emd` against `transport.emd_dense`.

Builds the 100 x 100 histograms of 2M-sample toys of the paper (Sec. 4.1-4.2)
for the three toy datasets: truth vs an independent truth sample ("indep") and
truth vs a blurred independent sample, `x * 0.8 + N(0, 0.8)` ("blur"). Each
EMD runs in its own subprocess, which reports its wall times, its peak RSS
(`VmHWM`, reset after the imports and the inputs are loaded, so it is the peak
during the EMD calls; `rss_over_imports` subtracts the RSS before them) and,
for `emd`, the peak of Python-traced allocations (tracemalloc) of one more
call. The whole process counts towards the peak, including the ~300 MB of
`import ot` (which imports torch).

`emd_dense` takes about a minute and 3.6 GB per call, so by default it runs
once per toy and convention (`--dense one`): in the paper convention on the
"indep" pair and in the normalised one on the "blur" pair. The other two
references are the dense value of the other convention, rescaled exactly
(paper = normalised / max cost / bin area), and the dense time and memory of
the same problem in the other convention (the two conventions solve the same
transport problem up to scale). `--dense all` runs all 12 dense calls;
`--dense none` none. Dense results are stored in `--cache` (JSON) when given,
and a rerun takes the ones it holds from there instead of running them again
(unless `--refresh`).

Prints rows `stage, metric, ours, reference, ratio`; ratio > 1 means ours is
better (time and memory: reference / ours; rel_diff: tolerance 1e-6 / ours).

Usage: python benchmarks/emd_speed.py [--repeats 3] [--dense one|all|none]
       [--cache FILE] [--refresh] [--out FILE.tsv]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from laser.data import toys as datasets
from laser.evaluation import histograms, metrics

N_SAMPLES, BINS, SEED = 2_000_000, 100, 0
RANGES = {
    "gaussians": [[-8.2, 8.2], [-8.2, 8.2]],
    "double_donut": [[-11.0, 11.0], [-7.0, 7.0]],
    "rings": [[-20.2, 20.2], [-8.2, 8.2]],
}
STAGES = ("indep", "blur")
#: Required agreement of emd with emd_dense (relative).
RTOL = 1e-6
#: With `--dense one`: the stage whose dense EMD is computed, per convention.
DENSE_ONE = {"paper": "indep", "normalised": "blur"}


def _status_mb(field: str) -> float | None:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux >= 4.0); True if it worked."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MiB.

    ``VmHWM`` where available: ``getrusage``'s ``ru_maxrss`` (self or children)
    keeps the parent's high-water mark across fork + exec on Linux, so it
    would report the parent's peak (the 2M-sample toys) for a small child.
    """
    hwm = _status_mb("VmHWM")
    if hwm is not None:
        return hwm
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Current resident set size in MiB (the peak where unavailable)."""
    rss = _status_mb("VmRSS")
    return rss if rss is not None else peak_rss_mb()


def build_histograms(path: Path) -> None:
    """Raw counts of truth, independent truth and blurred samples of each toy."""
    out = {}
    for toy, r in RANGES.items():
        rng = np.random.default_rng(SEED)
        draw = datasets.TOYS[toy].draw
        truth = draw(N_SAMPLES, rng)
        other = draw(N_SAMPLES, rng)
        blurred = other * 0.8 + rng.normal(0.0, 0.8, other.shape)
        out[f"{toy}/truth"] = histograms.histogram2d(truth, BINS, r)
        out[f"{toy}/indep"] = histograms.histogram2d(other, BINS, r)
        out[f"{toy}/blur"] = histograms.histogram2d(blurred, BINS, r)
    np.savez(path, **out)


def child(spec: dict) -> dict:
    """Run one EMD function `repeats` times on one pair (in a subprocess)."""
    hists = np.load(spec["hists"])
    toy, stage, conv = spec["toy"], spec["stage"], spec["convention"]
    r = RANGES[toy]
    p = histograms.as_convention(hists[f"{toy}/truth"], r, conv)
    q = histograms.as_convention(hists[f"{toy}/{stage}"], r, conv)
    fn = getattr(metrics, spec["method"])
    base = rss_mb()
    reset = reset_peak_rss()
    times, value = [], math.nan
    for _ in range(spec["repeats"]):
        t0 = time.perf_counter()
        value = fn(p, q, BINS, r, conv)
        times.append(time.perf_counter() - t0)
    peak = peak_rss_mb()
    traced = math.nan
    if spec["tracemalloc"]:
        tracemalloc.start()
        fn(p, q, BINS, r, conv)
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return {
        "value": float(value),
        "times": times,
        "rss_base_mb": base,
        "rss_peak_mb": peak,
        "peak_reset": reset,
        "traced_peak_mb": traced,
    }


def run_child(spec: dict) -> dict:
    """Run :func:`child` in a fresh interpreter; return its JSON result."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {spec} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def paper_factor(toy: str) -> float:
    """EMD(paper) / EMD(normalised): 1 / (max ground cost * bin area)."""
    r = np.asarray(RANGES[toy])
    span = (r[:, 1] - r[:, 0]) * (BINS - 1) / BINS  # between corner centres
    area = float(np.prod((r[:, 1] - r[:, 0]) / BINS))
    return 1.0 / (math.hypot(*span) * area)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=3, help="calls of emd per case")
    ap.add_argument("--dense", choices=("one", "all", "none"), default="one")
    ap.add_argument("--cache", type=Path, help="JSON file of dense results")
    ap.add_argument(
        "--refresh", action="store_true", help="rerun dense calls held in --cache"
    )
    ap.add_argument("--out", type=Path, help="also write the rows as TSV")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    cache = {}
    if args.cache and args.cache.exists():
        cache = json.loads(args.cache.read_text())

    rows: list[tuple[str, str, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        hists = Path(tmp) / "hists.npz"
        t0 = time.perf_counter()
        build_histograms(hists)
        print(f"# histograms built in {time.perf_counter() - t0:.1f} s", flush=True)
        for toy in RANGES:
            ours, dense = {}, {}
            for stage in STAGES:
                for conv in histograms.CONVENTIONS:
                    spec = dict(hists=str(hists), toy=toy, stage=stage)
                    spec["convention"] = conv
                    ours[stage, conv] = run_child(
                        spec | dict(method="emd", repeats=args.repeats, tracemalloc=1)
                    )
                    key = f"{toy}/{stage}/{conv}"
                    wanted = args.dense == "all" or (
                        args.dense == "one" and DENSE_ONE[conv] == stage
                    )
                    if wanted and (args.refresh or key not in cache):
                        cache[key] = run_child(
                            spec | dict(method="emd_dense", repeats=1, tracemalloc=0)
                        )
                        if args.cache:
                            args.cache.write_text(json.dumps(cache, indent=1))
                    if key in cache:
                        dense[stage, conv] = cache[key]
                    times = ours[stage, conv]["times"]
                    print(
                        f"# {key}: emd {min(times):.2f}-{max(times):.2f} s"
                        + (
                            f", emd_dense {dense[stage, conv]['times'][0]:.1f} s"
                            if (stage, conv) in dense
                            else ""
                        ),
                        flush=True,
                    )
            rows += toy_rows(toy, ours, dense)

    print(
        f"{'stage':34s} {'metric':22s} {'ours':>12s} {'reference':>12s} {'ratio':>9s}"
    )
    for stage, metric, a, b, ratio in rows:
        print(f"{stage:34s} {metric:22s} {a:12.4g} {b:12.4g} {ratio:9.3g}")
    worst = {}
    for _, metric, _, _, ratio in rows:
        if not math.isnan(ratio):
            worst[metric] = min(worst.get(metric, math.inf), ratio)
    print("# *: reference from the dense run in the other convention (rescaled)")
    print(
        "# worst ratio per metric: "
        + ", ".join(f"{m} {v:.3g}" for m, v in sorted(worst.items()))
    )
    if args.out:
        with args.out.open("w") as f:
            f.write("stage\tmetric\tours\treference\tratio\n")
            for row in rows:
                f.write("\t".join(map(str, row)) + "\n")


def toy_rows(toy: str, ours: dict, dense: dict) -> list[tuple]:
    """Rows of one toy: time, memory and agreement per stage and convention."""
    rows = []
    factor = paper_factor(toy)
    other = {"paper": "normalised", "normalised": "paper"}
    for (stage, conv), res in ours.items():
        note = ""
        ref = dense.get((stage, conv))
        if ref is not None:
            ref_value = ref["value"]
        else:  # the other convention's dense result, rescaled
            ref = dense.get((stage, other[conv]))
            if ref is None:
                continue
            scale = factor if conv == "paper" else 1.0 / factor
            ref_value = ref["value"] * scale
            note = "*"
        name = f"{toy}/{stage}/{conv}{note}"
        t_ref = ref["times"][0]
        rel = abs(res["value"] - ref_value) / abs(ref_value)
        rows += [
            (name, "time_s_min", min(res["times"]), t_ref, t_ref / min(res["times"])),
            (name, "time_s_max", max(res["times"]), t_ref, t_ref / max(res["times"])),
            (
                name,
                "peak_rss_mb",
                res["rss_peak_mb"],
                ref["rss_peak_mb"],
                ref["rss_peak_mb"] / res["rss_peak_mb"],
            ),
            (
                name,
                "rss_over_imports_mb",
                res["rss_peak_mb"] - res["rss_base_mb"],
                ref["rss_peak_mb"] - ref["rss_base_mb"],
                (ref["rss_peak_mb"] - ref["rss_base_mb"])
                / max(res["rss_peak_mb"] - res["rss_base_mb"], 1.0),
            ),
            (name, "traced_peak_mb", res["traced_peak_mb"], math.nan, math.nan),
            (name, "rel_diff", rel, RTOL, RTOL / max(rel, 1e-300)),
            (name, "value", res["value"], ref_value, math.nan),
        ]
    return rows


if __name__ == "__main__":
    main()
